# Every client of the pool is drained at the same time: max_parallel is the
# runbook's cap on a step's instances, so no node is left for the
# allocations to move to, whatever the pool holds.

data "nomad_nodes" "pool" {
  node_pool = "default"
}

step "drain" {
  for_each     = data.nomad_nodes.pool.by_name
  max_parallel = 10000 # NR-S011
  target       = each.value
  action "nomad_node_drain" {
    deadline = "30m"
  }
  wait "node_drained" {
    timeout = "40m"
  }
}
