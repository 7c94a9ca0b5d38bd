# The runbook caps each step at 20 instances, and the drain runs 20 at once:
# every node of the set drains at the same time.

runbook "drain" {
  max_instances = 20
}

data "nomad_nodes" "batch" {
  node_pool = "batch"
}

step "drain" {
  for_each     = data.nomad_nodes.batch.by_name
  max_parallel = 20 # NR-S011
  target       = each.value
  action "nomad_node_drain" {
    deadline = "30m"
  }
  wait "node_drained" {
    timeout = "40m"
  }
}
