step "snapshot" {
  timeout = "5 minutes" # ERROR: Invalid duration
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}
