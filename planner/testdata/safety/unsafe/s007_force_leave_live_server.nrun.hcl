# Forcing a live server out: it rejoins at once.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "evict" { # NR-S007
  depends_on = [step.snapshot]
  target     = data.nomad_servers.all.by_name["s3"]
  precondition "quorum_ok" {}
  action "nomad_server_force_leave" {
    prune = true
  }
}
