# Rollback of a failed Nomad server upgrade: every server back on the
# previous binary, one at a time, leader last; then, once an operator
# approves, the Raft state restored from the snapshot taken before the
# upgrade.
#
#   nrun plan  -var-file runbooks/sandbox.nrunvars.hcl runbooks/nomad-server-rollback.nrun.hcl
#   nrun apply -var-file runbooks/sandbox.nrunvars.hcl runbooks/nomad-server-rollback.nrun.hcl
#   nrun apply -resume -approve step.approve_restore -var-file runbooks/sandbox.nrunvars.hcl runbooks/nomad-server-rollback.nrun.hcl
#
# It is written for an upgrade (nomad-server-rolling-upgrade.nrun.hcl)
# that stopped part way: some servers run the new version, and the one
# whose start failed is down (after a while autopilot removes it from
# Raft). Plan once `nomad server members` shows it failed: until gossip
# notices, every read, quorum_ok's included, still counts it a healthy
# voter. The servers that are down come back first, on the previous
# binary, proven voters again, so the cluster regains its failure
# tolerance before any running server is touched; then each server still on another
# version is stopped, gets the previous binary back and must be healthy
# before the next, with quorum checked before every stop and leadership
# moved off the last one. Only then, behind an approval, is the snapshot
# restored: it rolls the whole state (jobs, allocations, variables) back
# to before the upgrade, and loses everything written since, so a person
# decides when the run gets there. The plan checks that the snapshot file
# exists and reads as one, and shows the Raft index it restores.

runbook "nomad-server-rollback" {
  description = "Roll a failed upgrade to var.new_version back: every Nomad server on var.previous_version, leader last, then the pre-upgrade snapshot restored once approved."
}

variable "new_version" {
  type        = string
  description = "The version the failed upgrade was moving to (the upgrade's new_version), as the reviewer and the approval read it."
}

variable "previous_version" {
  type        = string
  default     = "1.9.4"
  description = "The Nomad version the servers ran before the upgrade, e.g. \"1.9.4\"."
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
  description = "The snapshot taken before the upgrade (the upgrade runbook's snapshot_path), restored at the end."
}

variable "rollback_snapshot_path" {
  type        = string
  default     = "nomad-pre-rollback.snap"
  description = "Where the snapshot of the state as the rollback starts is written, before the first server is stopped: restoring it undoes the rollback's restore."
}

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = var.rollback_snapshot_path
  }
}

# Servers the failed upgrade left down (a start that failed) come back on
# the previous binary. Starting one takes nothing down.
step "recover" {
  for_each     = { for name, s in data.nomad_servers.all.by_name : name => s if s.status != "alive" }
  max_parallel = 1
  depends_on   = [step.snapshot]
  target       = each.value
  timeout      = "20m"
  on_failure   = "pause"

  step "swap" {
    action "exec" {
      command = (var.mode == "sandbox"
        ? ["true"]
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "ln", "-sfn", "${var.install_dir}/${var.previous_version}/nomad", "/usr/local/bin/nomad"])
      effect = "none"
    }
  }

  step "start" {
    depends_on = [step.swap]
    action "exec" {
      command = (var.mode == "sandbox"
        ? ["nrun", "sandbox", "server", "start", split(".", each.value.name)[0], "-version", var.previous_version]
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "systemctl", "start", "nomad"])
      effect = "start"
    }
    wait "server_healthy" {
      timeout = "5m"
    }
    # A server down long enough has been removed from Raft by autopilot
    # (cleanup_dead_servers); it counts as a voter again, for the
    # rollback's quorum, only once every known server is a healthy voter.
    wait "servers_healthy" {
      count   = length(data.nomad_servers.all.by_name)
      timeout = "5m"
    }
  }
}

# The servers still on another version go back one at a time, leader last.
step "rollback" {
  for_each     = { for name, s in data.nomad_servers.all.by_name : name => s if s.status == "alive" && s.version != var.previous_version }
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.recover]
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
      command = (var.mode == "sandbox"
        ? ["true"]
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "ln", "-sfn", "${var.install_dir}/${var.previous_version}/nomad", "/usr/local/bin/nomad"])
      effect = "none"
    }
  }

  step "start" {
    depends_on = [step.swap]
    action "exec" {
      command = (var.mode == "sandbox"
        ? ["nrun", "sandbox", "server", "start", split(".", each.value.name)[0], "-version", var.previous_version]
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "systemctl", "start", "nomad"])
      effect = "start"
    }
    wait "server_healthy" {
      timeout = "5m"
    }
    wait "servers_healthy" {
      timeout = "5m"
    }
  }
}

# Every server on the previous version and healthy, checked on the live
# cluster right before the operator is asked and again right before the
# restore (the approval may come hours later).
step "approve_restore" {
  depends_on = [step.rollback]
  precondition "servers_version" {
    version = var.previous_version
  }
  precondition "servers_healthy" {}
  action "approval" {
    message = "The upgrade to ${var.new_version} is rolled back: every Nomad server runs ${var.previous_version} again. Restore the Raft state from ${var.snapshot_path}, taken before the upgrade? Everything written since (jobs, allocations, variables) is lost; ${var.rollback_snapshot_path} holds the state as this rollback started."
  }
}

step "restore" {
  depends_on = [step.approve_restore]
  precondition "servers_version" {
    version = var.previous_version
  }
  precondition "servers_healthy" {}
  action "nomad_snapshot_restore" {
    path = var.snapshot_path
  }
  wait "servers_version" {
    version = var.previous_version
    timeout = "2m"
  }
  wait "servers_healthy" {
    timeout = "2m"
  }
}

output "leader" {
  value = data.nomad_servers.all.leader.name
}
