# Moving leadership away before each instance replaces leader_last.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restart" {
  for_each     = data.nomad_servers.all.by_name
  max_parallel = 1
  depends_on   = [step.snapshot]
  precondition "quorum_ok" {}
  precondition "leader_not_target" {
    transfer = true
  }
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
