step "snapshot" {
  action "nomad_snapshot_save" {
    path = "backup.snap"
    pth  = "other.snap" # ERROR: Unsupported argument
  }
}
