# The order is backwards: the peer is removed, then the server stopped.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "retire" {
  depends_on = [step.snapshot]
  target     = data.nomad_servers.all.by_name["s3"]
  precondition "quorum_ok" {}

  step "remove" { # NR-S007
    action "nomad_raft_remove_peer" {}
  }
  step "stop" {
    depends_on = [step.remove]
    action "exec" {
      command = ["ssh", "s3", "sudo", "systemctl", "stop", "nomad"]
      effect  = "stop"
    }
  }
}
