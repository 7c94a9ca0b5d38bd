step "snapshot" {
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
  retry = { attempts = 2 } # ERROR: Unsupported argument
}
