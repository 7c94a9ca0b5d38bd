# Forcing a live Consul server out: it rejoins at once.

data "consul_servers" "all" {}

step "snapshot" {
  action "consul_snapshot_save" {
    path = "pre.snap"
  }
}

step "evict" { # NR-S007
  depends_on = [step.snapshot]
  target     = data.consul_servers.all.by_name["c3"]
  precondition "quorum_ok" {}
  action "consul_force_leave" {
    prune = true
  }
}
