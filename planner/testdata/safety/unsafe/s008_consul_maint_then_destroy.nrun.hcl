# consul maint only registers a failing check; the server still votes.

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
    enable = true
    reason = "retiring"
  }
}

step "destroy" { # NR-S008
  depends_on = [step.maint]
  target     = data.consul_servers.all.by_name["c3"]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["cloud", "terminate", "c3"]
    effect  = "destroy"
  }
}
