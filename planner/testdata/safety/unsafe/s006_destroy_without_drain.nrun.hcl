# Client nodes are terminated with their allocations still running.

data "nomad_nodes" "old" {
  node_pool = "old"
}

step "terminate" { # NR-S006
  for_each     = data.nomad_nodes.old.by_name
  max_parallel = 2
  target       = each.value
  action "exec" {
    command = ["cloud", "terminate", each.value.name]
    effect  = "destroy"
  }
}
