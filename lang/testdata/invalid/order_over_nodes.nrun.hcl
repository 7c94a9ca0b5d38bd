data "nomad_nodes" "all" {}

step "drain" {
  for_each = data.nomad_nodes.all.by_name
  order    = "leader_last" # ERROR: Invalid use of order
  action "nomad_node_drain" {
    deadline = "30m"
  }
}
