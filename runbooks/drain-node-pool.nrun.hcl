# Drain every ready client node of one node pool, one node at a time, for
# example before replacing the pool's machines:
#
#   nrun plan -var node_pool=batch runbooks/drain-node-pool.nrun.hcl
#
# All nodes of the pool are first made ineligible, so allocations moved off
# the first node are not placed on the next one to be drained. Then one
# node at a time is drained. Nomad moves each job's allocations as the
# job's migrate block says: at most migrate.max_parallel of a group at a
# time, the next ones only once the replacements have been healthy for
# min_healthy_time, across nodes too. The drain step finishes when every
# allocation on the node has stopped (Nomad may call a drain complete a
# moment earlier), and a wait checks the node is drained.
#
# The deadline is when Nomad stops whatever has not migrated yet, all at
# once, ignoring migrate. Give each node more than its allocations need to
# move: about (allocations / max_parallel) x (start + min_healthy_time).
# Make sure other pools (or the jobs' node_pool settings) leave room for
# what is moved, or the drain runs into its deadline.

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
  # The drain step times out after 45m and its wait after 40m: a longer
  # deadline would fail the step while Nomad is still migrating.
  validation {
    condition = length([
      for secs in [try(tonumber(regex("^([0-9]+)[smh]$", var.deadline)[0]) * lookup({ s = 1, m = 60, h = 3600 }, substr(var.deadline, -1, 1), 0), 0)] :
      secs if secs > 0 && secs <= 2400
    ]) == 1
    error_message = "deadline must be a whole number of seconds, minutes or hours (\"90s\", \"10m\") longer than zero and at most 40m: the drain step times out after 45m and its wait after 40m."
  }
}

variable "ignore_system_jobs" {
  type        = bool
  default     = false
  description = "Leave system job allocations running on the drained nodes."
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
    deadline           = var.deadline
    ignore_system_jobs = var.ignore_system_jobs
  }
  wait "node_drained" {
    timeout = "40m"
  }
}
