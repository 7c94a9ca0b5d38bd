# max_parallel from a variable: the analysis uses its value.

variable "parallel" {
  type    = number
  default = 1
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
  max_parallel = var.parallel
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
