step "snapshot" {
  precondition "quorum_ok" {
    cluster = "vault" # ERROR: Invalid argument value
  }
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}
