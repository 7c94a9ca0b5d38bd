# The drain covers other nodes than the ones destroyed.

data "nomad_nodes" "old" {
  node_pool = "old"
}

data "nomad_nodes" "other" {
  node_pool = "other"
}

step "drain" {
  for_each = data.nomad_nodes.other.by_name
  target   = each.value
  action "nomad_node_drain" {
    deadline = "30m"
  }
  wait "node_drained" {
    timeout = "40m"
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
