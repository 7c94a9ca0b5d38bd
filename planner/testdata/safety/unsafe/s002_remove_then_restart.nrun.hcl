# After one of three servers is removed the cluster has two voters and
# tolerates no failure, so the rolling restart after it is unsafe.

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

  step "stop" {
    action "exec" {
      command = ["ssh", "s3", "sudo", "systemctl", "stop", "nomad"]
      effect  = "stop"
    }
  }
  step "remove" {
    depends_on = [step.stop]
    action "nomad_raft_remove_peer" {}
  }
}

step "restart" { # NR-S002
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.retire]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
