data "nomad_servers" "all" {}
data "nomad_nodes" "all" {}

step "upgrade" {
  for_each = data.nomad_servers.all.leader # ERROR: Invalid for_each argument
  order    = "leader_last"
  action "exec" {
    command = ["true"]
    effect  = "restart"
  }
}

step "drain" {
  for_each = data.nomad_nodes.all.by_name["c1"] # ERROR: Invalid for_each argument
  action "nomad_node_drain" {
    deadline = "1m"
  }
}

step "mixed" {
  for_each = { a = "x", b = 1 }
  order    = "leader_last" # ERROR: Invalid use of order
  action "exec" {
    command = ["true"]
    effect  = "restart"
  }
}
