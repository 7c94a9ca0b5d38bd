step "twice" {
  action "nomad_snapshot_save" {
    path = "a.snap"
  }
  action "consul_snapshot_save" { # ERROR: Duplicate action block
    path = "b.snap"
  }
}
