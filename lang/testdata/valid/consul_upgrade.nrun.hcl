# Rolling Consul server upgrade, leader last, with maintenance mode.
variable "consul_version" {
  type        = string
  description = "Target Consul version."
}

consul {
  address    = "127.0.0.1:8500"
  scheme     = "http"
  datacenter = "dc1"
}

data "consul_servers" "all" {
  status = "alive"
}

step "snapshot" {
  action "consul_snapshot_save" {
    path = "consul-${formatdate("YYYYMMDD", "2026-01-02T03:04:05Z")}.snap"
  }
}

step "upgrade" {
  for_each   = data.consul_servers.all.by_name
  order      = "leader_last"
  depends_on = [step.snapshot]
  target     = each.value

  precondition "quorum_ok" {
    cluster = "consul"
  }
  precondition "leader_not_target" {
    transfer = true
  }

  step "maint_on" {
    action "consul_maintenance" {
      enable = true
      reason = "upgrade to ${var.consul_version}"
    }
  }
  step "restart" {
    depends_on = [step.maint_on]
    action "exec" {
      command = ["ssh", each.value.host, "sudo", "install-consul", var.consul_version]
      effect  = "restart"
      timeout = "10m"
    }
    wait "server_healthy" {
      timeout = "5m"
    }
  }
  step "maint_off" {
    depends_on = [step.restart]
    action "consul_maintenance" {
      node   = each.value
      enable = false
    }
    wait "consul_maintenance" {
      enabled = false
      timeout = "1m"
    }
  }
}

step "verify" {
  depends_on = [step.upgrade]
  wait "servers_version" {
    version = var.consul_version
    cluster = "consul"
    timeout = "2m"
  }
  action "approval" {
    message = "All Consul servers run ${var.consul_version}. Finish?"
  }
}
