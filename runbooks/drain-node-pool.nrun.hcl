# Drain every ready client node of one node pool, one node at a time, for
# example before replacing the pool's machines:
#
#   nrun plan -var node_pool=batch runbooks/drain-node-pool.nrun.hcl
#
# All nodes of the pool are first made ineligible, so allocations moved off
# the first node are not placed on the next one to be drained. Each drain
# has a deadline, after which Nomad stops the allocations that have not
# migrated yet, and is followed by a wait until the node runs nothing but
# system jobs. Make sure other pools (or the jobs' node_pool settings) leave
# room for what is moved, or the drain waits out its deadline.

runbook "drain-node-pool" {
  description = "Drain every ready node of var.node_pool, one at a time."
}

variable "node_pool" {
  type        = string
  default     = "default"
  description = "The node pool to drain."
}

variable "deadline" {
  type        = string
  default     = "30m"
  description = "How long each node's allocations may take to migrate before Nomad stops them."
}

data "nomad_nodes" "pool" {
  node_pool = var.node_pool
  status    = "ready"
}

step "ineligible" {
  for_each     = data.nomad_nodes.pool.by_name
  max_parallel = 5
  target       = each.value
  action "nomad_node_eligibility" {
    eligible = false
  }
  wait "node_ineligible" {
    timeout = "1m"
  }
}

step "drain" {
  for_each     = data.nomad_nodes.pool.by_name
  max_parallel = 1
  depends_on   = [step.ineligible]
  target       = each.value
  timeout      = "45m"
  on_failure   = "pause"
  action "nomad_node_drain" {
    deadline = var.deadline
  }
  wait "node_drained" {
    timeout = "40m"
  }
}
