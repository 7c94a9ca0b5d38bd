step "snapshot" {
  precondition "quorum_ok" {
    interval = "5s" # ERROR: Unsupported argument
  }
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}
