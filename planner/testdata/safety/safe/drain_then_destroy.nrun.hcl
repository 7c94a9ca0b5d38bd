# Drain with a deadline, wait for it really to finish, then terminate.

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
  wait "node_drained" {
    timeout = "40m"
  }
}

step "terminate" {
  for_each     = data.nomad_nodes.old.by_name
  max_parallel = 2
  depends_on   = [step.drain]
  target       = each.value
  action "exec" {
    command = ["cloud", "terminate", each.value.name]
    effect  = "destroy"
  }
}
