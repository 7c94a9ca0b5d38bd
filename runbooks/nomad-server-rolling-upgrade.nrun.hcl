# Rolling upgrade of every Nomad server, one at a time, leader last.
#
# The same runbook drives the local sandbox and real hosts; only the
# variables differ:
#
#   nrun validate -var-file runbooks/sandbox.nrunvars.hcl runbooks/nomad-server-rolling-upgrade.nrun.hcl
#   nrun plan     -var-file runbooks/production.nrunvars.hcl.example runbooks/nomad-server-rolling-upgrade.nrun.hcl
#
# Each server is stopped, gets its new binary, is started again and must be
# healthy (alive, voter, caught up with the leader) before the next one is
# touched. Quorum is checked before every stop, and leadership is moved off
# the last server before it goes down.

runbook "nomad-server-rolling-upgrade" {
  description = "Upgrade every Nomad server to var.new_version, one at a time, leader last."
}

variable "new_version" {
  type        = string
  description = "The Nomad version every server runs at the end, e.g. \"1.10.0\"."
}

variable "mode" {
  type        = string
  default     = "ssh"
  description = "How servers are stopped and started: \"sandbox\" (nrun sandbox, on this machine) or \"ssh\" (systemd on each host)."
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

variable "snapshot_path" {
  type        = string
  default     = "nomad-pre-upgrade.snap"
  description = "Where the Raft snapshot taken before the first server goes down is written."
}

variable "after_snapshot_path" {
  type        = string
  default     = "nomad-post-upgrade.snap"
  description = "Where the Raft snapshot taken after the last server is upgraded is written."
}

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = var.snapshot_path
  }
}

step "upgrade" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.snapshot]
  target       = each.value
  timeout      = "20m"
  on_failure   = "pause"

  precondition "quorum_ok" {}
  precondition "leader_not_target" {
    transfer = true
  }

  # Nomad names servers NAME.REGION; nrun sandbox wants NAME.
  step "stop" {
    action "exec" {
      command = (var.mode == "sandbox"
        ? ["nrun", "sandbox", "server", "stop", split(".", each.value.name)[0]]
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "systemctl", "stop", "nomad"])
      effect = "stop"
    }
  }

  step "swap" {
    depends_on = [step.stop]
    action "exec" {
      # The sandbox keeps one binary per version and picks it at start, so
      # there is nothing to swap there.
      command = (var.mode == "sandbox"
        ? ["true"]
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "ln", "-sfn", "${var.install_dir}/${var.new_version}/nomad", "/usr/local/bin/nomad"])
      effect = "none"
    }
  }

  step "start" {
    depends_on = [step.swap]
    action "exec" {
      command = (var.mode == "sandbox"
        ? ["nrun", "sandbox", "server", "start", split(".", each.value.name)[0], "-version", var.new_version]
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "systemctl", "start", "nomad"])
      effect = "start"
    }
    wait "server_healthy" {
      timeout = "5m"
    }
  }
}

# The first backup of the upgraded cluster, then the proof: every server
# reports the new version and autopilot calls every voter healthy. The
# waits follow the cluster until that holds.
step "verify" {
  depends_on = [step.upgrade]
  action "nomad_snapshot_save" {
    path = var.after_snapshot_path
  }
  wait "servers_version" {
    version = var.new_version
    timeout = "2m"
  }
  wait "servers_healthy" {
    timeout = "2m"
  }
}

output "leader" {
  value = data.nomad_servers.all.leader.name
}
