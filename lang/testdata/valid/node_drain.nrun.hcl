# Drain the blue node pool two nodes at a time, then retire it.
runbook "drain-blue" {
  description = "Move every workload off the blue pool."
}

data "nomad_nodes" "blue" {
  node_pool = "blue"
  status    = "ready"
  meta      = { rack = "r1" }
  name      = "^client-[0-9]+$"
}

step "ineligible" {
  for_each     = data.nomad_nodes.blue.by_name
  max_parallel = 10
  action "nomad_node_eligibility" {
    eligible = false
  }
  wait "node_ineligible" {
    timeout  = "1m"
    interval = "2s"
  }
}

step "drain" {
  for_each     = data.nomad_nodes.blue.by_name
  max_parallel = 2
  depends_on   = [step.ineligible]
  on_failure   = "pause"
  timeout      = "2h"
  precondition "node_ready" {}
  action "nomad_node_drain" {
    node               = each.value
    deadline           = "1h"
    ignore_system_jobs = true
    force              = false
  }
  wait "node_drained" {
    timeout = "1h30m"
  }
}

output "drained" {
  value = data.nomad_nodes.blue.names
}
