step "snapshot" {
  retries { # ERROR: Unsupported block type
    attempts = 2
  }
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}
