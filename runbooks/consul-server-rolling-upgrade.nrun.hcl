# Rolling upgrade of every Consul server, one at a time, leader last.
#
# The same runbook drives the local sandbox and real hosts; only the
# variables differ:
#
#   nrun sandbox up -consul-version 1.20.6 -consul-agents
#   eval "$(nrun sandbox env)"
#   export CONSUL_HTTP_ADDR=<a Consul client agent: nrun sandbox consul-agents>
#   nrun apply -var-file runbooks/consul-sandbox.nrunvars.hcl runbooks/consul-server-rolling-upgrade.nrun.hcl
#
# Point CONSUL_HTTP_ADDR at a Consul client agent (on a real host: the
# local one), not at a server: a client agent forwards to whichever server
# is up, so nrun keeps reading the cluster while each server restarts.
#
# Each server is stopped (which does not leave the cluster: it stays a
# Raft peer), gets its new binary, is started again and must be healthy
# (alive, voter, caught up with the leader, stable) before the next one is
# touched. Consul's quorum is checked before every stop, and Consul
# leadership is moved off the last server before it goes down.

runbook "consul-server-rolling-upgrade" {
  description = "Upgrade every Consul server to var.consul_version, one at a time, leader last."
}

variable "consul_version" {
  type        = string
  description = "The Consul version every Consul server runs at the end, e.g. \"1.21.0\"."
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
  default     = "/opt/consul"
  description = "In mode \"ssh\", each version is pre-staged as INSTALL_DIR/VERSION/consul; the swap points /usr/local/bin/consul at it."
}

variable "snapshot_path" {
  type        = string
  default     = "consul-pre-upgrade.snap"
  description = "Where the Consul snapshot taken before the first server goes down is written."
}

variable "after_snapshot_path" {
  type        = string
  default     = "consul-post-upgrade.snap"
  description = "Where the Consul snapshot taken after the last server is upgraded is written."
}

data "consul_servers" "all" {}

step "snapshot" {
  action "consul_snapshot_save" {
    path = var.snapshot_path
  }
}

# Only the servers not yet on the new version: run again after a failure
# or on an upgraded cluster, the plan skips what is done.
step "upgrade" {
  for_each     = { for name, s in data.consul_servers.all.by_name : name => s if s.version != var.consul_version }
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.snapshot]
  target       = each.value
  timeout      = "20m"
  on_failure   = "pause"

  precondition "quorum_ok" {
    cluster = "consul"
  }
  # The target is a Consul server, so this moves Consul's leadership.
  precondition "leader_not_target" {
    transfer = true
  }

  step "stop" {
    action "exec" {
      command = (var.mode == "sandbox"
        ? ["nrun", "sandbox", "consul", "stop", each.value.name]
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "systemctl", "stop", "consul"])
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
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "ln", "-sfn", "${var.install_dir}/${var.consul_version}/consul", "/usr/local/bin/consul"])
      effect = "none"
    }
  }

  step "start" {
    depends_on = [step.swap]
    action "exec" {
      command = (var.mode == "sandbox"
        ? ["nrun", "sandbox", "consul", "start", each.value.name, "-version", var.consul_version]
      : ["ssh", "${var.ssh_user}@${each.value.host}", "sudo", "systemctl", "start", "consul"])
      effect = "start"
    }
    wait "server_healthy" {
      timeout = "5m"
    }
  }
}

# The first backup of the upgraded cluster, then the proof: every Consul
# server reports the new version and autopilot calls every voter healthy.
step "verify" {
  depends_on = [step.upgrade]
  action "consul_snapshot_save" {
    path = var.after_snapshot_path
  }
  wait "servers_version" {
    cluster = "consul"
    version = var.consul_version
    timeout = "2m"
  }
  wait "servers_healthy" {
    cluster = "consul"
    timeout = "2m"
  }
}

output "leader" {
  value = data.consul_servers.all.leader.name
}
