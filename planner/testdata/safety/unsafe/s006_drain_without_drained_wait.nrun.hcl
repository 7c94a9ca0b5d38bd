# The drain is reported done before allocations really stopped (nomad#14293).

data "nomad_nodes" "old" {
  node_pool = "old"
}

step "drain" {
  for_each     = data.nomad_nodes.old.by_name
  max_parallel = 2
  target       = each.value
  action "nomad_node_drain" {
    deadline = "30m"
  }
}

step "terminate" { # NR-S006
  for_each     = data.nomad_nodes.old.by_name
  max_parallel = 2
  depends_on   = [step.drain]
  target       = each.value
  action "exec" {
    command = ["cloud", "terminate", each.value.name]
    effect  = "destroy"
  }
}
