# The server leaves gracefully (its agent stops), then its peer entry goes.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "leave" {
  depends_on = [step.snapshot]
  target     = data.nomad_servers.all.by_name["s3"]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", "s3", "nomad", "server", "leave"]
    effect  = "stop"
  }
}

step "remove" {
  depends_on = [step.leave]
  target     = data.nomad_servers.all.by_name["s3"]
  precondition "quorum_ok" {}
  action "nomad_raft_remove_peer" {}
  wait "raft_peer_absent" {
    timeout = "2m"
  }
}
