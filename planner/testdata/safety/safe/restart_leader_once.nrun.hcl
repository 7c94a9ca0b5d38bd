# One restart of the current leader, with leadership moved away first.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restart_leader" {
  depends_on = [step.snapshot]
  target     = data.nomad_servers.all.leader
  precondition "quorum_ok" {}
  precondition "leader_not_target" {
    transfer = true
  }
  action "exec" {
    command = ["ssh", data.nomad_servers.all.leader.host, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
