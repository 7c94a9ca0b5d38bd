# The composite over five known servers may run two instances at once.
variable "server_count" {
  type    = number
  default = 5
}

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "upgrade" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 2
  depends_on   = [step.snapshot]
  precondition "quorum_ok" {}

  step "stop" {
    action "exec" {
      command = ["ssh", each.value.host, "sudo", "systemctl", "stop", "nomad"]
      effect  = "stop"
    }
  }
  step "swap" {
    depends_on = [step.stop]
    action "exec" {
      command = ["ssh", each.value.host, "sudo", "ln", "-sfn", "/opt/nomad/1.10.0/nomad", "/usr/local/bin/nomad"]
      effect  = "none"
    }
  }
  step "start" {
    depends_on = [step.swap]
    action "exec" {
      command = ["ssh", each.value.host, "sudo", "systemctl", "start", "nomad"]
      effect  = "start"
    }
    wait "server_healthy" {
      timeout = "5m"
    }
  }
}

step "verify" {
  depends_on = [step.upgrade]
  action "sleep" {
    duration = "10s"
  }
  wait "servers_healthy" {
    count   = var.server_count
    timeout = "5m"
  }
}
