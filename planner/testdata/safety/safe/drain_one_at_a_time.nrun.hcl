# Draining a pool one node at a time leaves the others to take the work;
# at plan, NR-S011 adds up whether it fits.

data "nomad_nodes" "pool" {
  node_pool = "default"
}

step "drain" {
  for_each     = data.nomad_nodes.pool.by_name
  max_parallel = 1
  target       = each.value
  action "nomad_node_drain" {
    deadline = "30m"
  }
  wait "node_drained" {
    timeout = "40m"
  }
}
