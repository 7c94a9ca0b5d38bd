# The node_drained wait may also sit on a step between drain and destroy.

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

step "confirm" {
  for_each   = data.nomad_nodes.old.by_name
  depends_on = [step.drain]
  target     = each.value
  action "sleep" {
    duration = "10s"
  }
  wait "node_drained" {
    timeout = "40m"
  }
}

step "terminate" {
  for_each     = data.nomad_nodes.old.by_name
  max_parallel = 2
  depends_on   = [step.confirm]
  target       = each.value
  action "exec" {
    command = ["cloud", "terminate", each.value.name]
    effect  = "destroy"
  }
}
