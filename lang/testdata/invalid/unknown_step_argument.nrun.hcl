step "snapshot" {
  timout = "5m" # ERROR: Unsupported argument
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}
