step "snapshot" {
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}

step "upgrade" {
  depends_on = [step.snapshto] # ERROR: Reference to undeclared step
  action "approval" {
    message = "go?"
  }
}
