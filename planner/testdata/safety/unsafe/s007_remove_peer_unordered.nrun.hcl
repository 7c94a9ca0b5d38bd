# The removal and the stop are separate steps with no order between them.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "stop" {
  depends_on = [step.snapshot]
  target     = data.nomad_servers.all.by_name["s3"]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", "s3", "sudo", "systemctl", "stop", "nomad"]
    effect  = "stop"
  }
}

step "remove" { # NR-S007
  depends_on = [step.snapshot]
  target     = data.nomad_servers.all.by_name["s3"]
  precondition "quorum_ok" {}
  action "nomad_raft_remove_peer" {}
}
