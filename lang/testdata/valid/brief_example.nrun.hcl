# The full example from the language brief.
runbook "nomad-server-upgrade" {
  description = "Rolling upgrade of the Nomad servers, leader last."
}

variable "new_version" {
  type = string
}

locals {
  ssh_user = "ops"
}

nomad {
  address = "http://10.0.0.1:4646"
}

consul {
  address = "10.0.0.1:8500"
}

terraform "platform" {
  dir = "./infra"
}

data "nomad_servers" "all" {}

data "nomad_nodes" "old" {
  node_pool = "blue"
}

data "consul_servers" "all" {}

step "snapshot" {
  description = "Take a Raft snapshot first, so the upgrade can be undone."
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}

step "upgrade" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.snapshot]
  target       = each.value
  timeout      = "15m"
  on_failure   = "abort"

  retry {
    attempts = 2
    delay    = "10s"
  }

  precondition "quorum_ok" {}
  precondition "leader_not_target" {}
  precondition {
    condition     = each.value.version != var.new_version
    error_message = "already upgraded"
  }

  action "exec" {
    command = ["ssh", "${local.ssh_user}@${each.value.host}", "sudo systemctl restart nomad"]
    effect  = "restart"
  }

  wait "server_healthy" {
    timeout = "5m"
  }
}

step "retire" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 1
  precondition "quorum_ok" {}

  step "stop" {
    action "exec" {
      command = ["ssh", each.value.host, "sudo systemctl stop nomad"]
      effect  = "stop"
    }
  }
  step "swap" {
    depends_on = [step.stop]
    action "exec" {
      command = ["..."]
      effect  = "none"
    }
  }
  step "start" {
    depends_on = [step.swap]
    action "exec" {
      command = ["..."]
      effect  = "start"
    }
    wait "server_healthy" {
      timeout = "5m"
    }
  }
}

output "leader" {
  value = data.nomad_servers.all.leader.name
}
