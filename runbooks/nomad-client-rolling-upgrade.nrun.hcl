# Rolling upgrade of every Nomad client to var.version, after the servers.
#
#   nrun plan -var version=1.10.0 -var mode=sandbox runbooks/nomad-client-rolling-upgrade.nrun.hcl
#   nrun plan -var version=1.10.0 -var max_parallel=2 runbooks/nomad-client-rolling-upgrade.nrun.hcl
#
# Clients must never run a newer Nomad than the servers, so the run
# refuses to start unless every server already runs at least var.version
# (upgrade them first with nomad-server-rolling-upgrade.nrun.hcl); the plan
# shows that gate as "blocked now" when it would refuse.
#
# Then, var.max_parallel clients at a time, each client is marked
# ineligible, drained (Nomad moves its allocations as each job's migrate
# block says, until var.drain_deadline), stopped, started on the new
# version, proven to have registered again on it (node_ready and
# node_version hold only on the record the restarted agent registers, not
# on the one from before the stop, which still reads ready), and made
# eligible again. Only clients older than var.version are planned, so a
# run after a failure picks up where it stopped.
#
# A client that fails to come back is left ineligible and drained, its
# work already elsewhere, and the others go on: max_failures tolerates one
# such client. A second failure stops the run; nothing more starts.

runbook "nomad-client-rolling-upgrade" {
  description = "Upgrade every Nomad client older than var.version, var.max_parallel at a time, after every server."
}

variable "version" {
  type        = string
  description = "The Nomad version every client runs at the end, e.g. \"1.10.0\". Every server must run at least this version."
}

variable "max_parallel" {
  type        = number
  default     = 1
  description = "How many clients are drained and restarted at the same time. The safety analysis checks that the others can take their work."
}

variable "drain_deadline" {
  type        = string
  default     = "5m"
  description = "How long a client's allocations may take to migrate (honouring each job's migrate block) before Nomad stops the rest."
}

variable "mode" {
  type        = string
  default     = "ssh"
  description = "How clients are stopped and started: \"sandbox\" (nrun sandbox, on this machine) or \"ssh\" (systemd on each host)."
  validation {
    condition     = contains(["sandbox", "ssh"], var.mode)
    error_message = "mode must be \"sandbox\" or \"ssh\"."
  }
}

variable "ssh_user" {
  type        = string
  default     = "ops"
  description = "User for ssh in mode \"ssh\"; it needs passwordless sudo for systemctl and the binary swap."
}

variable "install_dir" {
  type        = string
  default     = "/opt/nomad"
  description = "In mode \"ssh\", each version is pre-staged as INSTALL_DIR/VERSION/nomad; the swap points /usr/local/bin/nomad at it."
}

variable "client_versions" {
  type        = map(string)
  default     = {}
  description = "Per client name, the build to start instead of var.version (a hotfix build staged on one host). The client must still report at least var.version, or it counts as failed."
}

data "nomad_servers" "all" {}

# Only ready clients: a client that is down cannot be drained or proven
# upgraded; it is for the operator to look at.
data "nomad_nodes" "clients" {
  status = "ready"
}

# The gate: nothing is touched unless every server already runs at least
# var.version. Every client step depends on it.
step "servers_first" {
  description = "Refuse to start unless every Nomad server runs at least var.version."
  precondition "servers_version" {
    min = var.version
  }
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

step "upgrade" {
  description  = "Drain, restart on var.version, prove re-registered, make eligible."
  for_each     = { for name, n in data.nomad_nodes.clients.by_name : name => n if version_compare(n.version, var.version) < 0 }
  max_parallel = var.max_parallel
  max_failures = 1
  depends_on   = [step.servers_first]
  target       = each.value
  timeout      = "30m"

  step "ineligible" {
    action "nomad_node_eligibility" {
      eligible = false
    }
    wait "node_ineligible" {
      timeout = "1m"
    }
  }

  step "drain" {
    depends_on = [step.ineligible]
    action "nomad_node_drain" {
      deadline = var.drain_deadline
    }
    wait "node_drained" {
      timeout = "10m"
    }
  }

  step "stop" {
    depends_on = [step.drain]
    action "exec" {
      command = (var.mode == "sandbox"
        ? ["nrun", "sandbox", "client", "stop", each.value.name]
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "systemctl", "stop", "nomad"])
      effect = "stop"
    }
  }

  step "swap" {
    depends_on = [step.stop]
    action "exec" {
      # The sandbox keeps one binary per version and picks it at start.
      command = (var.mode == "sandbox"
        ? ["true"]
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "ln", "-sfn", "${var.install_dir}/${lookup(var.client_versions, each.key, var.version)}/nomad", "/usr/local/bin/nomad"])
      effect = "none"
    }
  }

  # node_ready and node_version hold only on the node record the agent
  # registers after this start: the old record still reads ready.
  step "start" {
    depends_on = [step.swap]
    action "exec" {
      command = (var.mode == "sandbox"
        ? ["nrun", "sandbox", "client", "start", each.value.name, "-version", lookup(var.client_versions, each.key, var.version)]
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "systemctl", "start", "nomad"])
      effect = "start"
    }
    wait "node_ready" {
      timeout = "5m"
    }
    wait "node_version" {
      version = var.version
      timeout = "1m"
    }
  }

  step "eligible" {
    depends_on = [step.start]
    action "nomad_node_eligibility" {
      eligible = true
    }
    wait "node_ready" {
      timeout = "1m"
    }
  }
}
