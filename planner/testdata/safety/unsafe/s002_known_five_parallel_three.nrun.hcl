# The variable says five servers, which tolerate two down, not three.
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

step "restart" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 3 # NR-S002
  depends_on   = [step.snapshot]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}

step "verify" {
  depends_on = [step.restart]
  action "sleep" {
    duration = "10s"
  }
  wait "servers_healthy" {
    count   = var.server_count
    timeout = "5m"
  }
}
