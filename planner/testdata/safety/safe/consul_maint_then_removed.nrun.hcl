# Maintenance first is fine when the server is stopped and removed from
# Raft before it is destroyed.

data "consul_servers" "all" {}

step "snapshot" {
  action "consul_snapshot_save" {
    path = "consul.snap"
  }
}

step "maint" {
  depends_on = [step.snapshot]
  target     = data.consul_servers.all.by_name["c3"]
  action "consul_maintenance" {
    reason = "retiring"
  }
}

step "stop" {
  depends_on = [step.maint]
  target     = data.consul_servers.all.by_name["c3"]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", "c3", "sudo", "systemctl", "stop", "consul"]
    effect  = "stop"
  }
}

step "remove" {
  depends_on = [step.stop]
  target     = data.consul_servers.all.by_name["c3"]
  precondition "quorum_ok" {}
  action "consul_raft_remove_peer" {}
}

step "destroy" {
  depends_on = [step.remove]
  target     = data.consul_servers.all.by_name["c3"]
  action "exec" {
    command = ["cloud", "terminate", "c3"]
    effect  = "destroy"
  }
}
