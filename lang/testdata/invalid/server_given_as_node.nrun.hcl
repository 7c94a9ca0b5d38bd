data "nomad_servers" "all" {}

step "drain" {
  for_each = data.nomad_servers.all.by_name
  action "nomad_node_drain" {
    node = each.value # ERROR: Incorrect attribute value type
  }
}
