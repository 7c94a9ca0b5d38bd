step "snapshot" {
  action "nomad_snapshot_save" {
    path = "a.snap"
  }
}

step "snapshot" { # ERROR: Duplicate step
  action "nomad_snapshot_save" {
    path = "b.snap"
  }
}
