step "snapshot" {
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}

step "upgrade" {
  depends_on = ["snapshot"] # ERROR: Invalid depends_on reference
  action "approval" {
    message = "go?"
  }
}
