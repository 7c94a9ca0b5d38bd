# Plan features in one runbook: a sensitive variable, an argument known
# only after apply (step.probe.output), a custom precondition that blocks
# now, http_ok (never probed at plan time), a job check and a waiver.
runbook "features" {
  description = "Exercise what a plan shows."
}

variable "token" {
  type      = string
  sensitive = true
}

variable "min_version" {
  type    = string
  default = "1.10.0"
}

data "nomad_nodes" "all" {}

step "probe" {
  description = "Read the agent's self endpoint | with a token."
  action "exec" {
    command = ["curl", "-H", "X-Token: ${var.token}", "http://10.0.0.11:4646/v1/agent/self"]
    effect  = "none"
  }
}

step "use" {
  action "exec" {
    command = ["echo", step.probe.output]
    effect  = "none"
  }
}

step "drain" {
  description  = "Move the work off every client before the upgrade."
  for_each     = data.nomad_nodes.all.by_name
  max_parallel = 1
  max_failures = "50%"
  depends_on   = [step.use]
  target       = each.value
  precondition {
    condition     = each.value.version == var.min_version
    error_message = "node ${each.key} still runs ${each.value.version}"
  }
  precondition "http_ok" {
    url = "http://${each.value.address}:4646/v1/agent/health"
  }
  precondition "deployment_successful" {
    job = "web"
  }
  action "nomad_node_drain" {
    deadline = "10m"
  }
  wait "node_drained" {
    timeout  = "15m"
    interval = "10s"
  }
}

data "nomad_servers" "all" {}

# Restarts one server without a snapshot first, which NR-S004 forbids; the
# waiver must show prominently in every rendering of the plan.
step "restart_s1" {
  depends_on = [step.drain]
  target     = data.nomad_servers.all.by_name["s1.global"]
  allow_unsafe {
    rules  = ["NR-S004"]
    reason = "The nightly job took a snapshot an hour ago."
  }
  precondition "quorum_ok" {}
  precondition "leader_not_target" {}
  action "exec" {
    command = ["ssh", "10.0.0.11", "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
