# One instance restarts every server at once (nomad#5917).

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restart_all" { # NR-S002
  depends_on = [step.snapshot]
  target     = data.nomad_servers.all.by_name
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ansible", "nomad_servers", "-m", "service", "-a", "name=nomad state=restarted"]
    effect  = "restart"
  }
  wait "servers_healthy" {
    timeout = "5m"
  }
}
