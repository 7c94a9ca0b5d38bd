step "snapshot" {
  on_failure = "ignore" # ERROR: Invalid on_failure value
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}
