step "snapshot" {
  precondition "quorum_okk" {} # ERROR: Unknown check
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}
