# No step of the run saves the file, and at plan it does not exist.
# inventory: healthy

step "approve" {
  action "approval" {
    message = "Roll the Nomad state back?"
  }
}

step "restore" {
  depends_on = [step.approve]
  action "nomad_snapshot_restore" {
    path = "testdata/safety/snapshots/missing.snap" # NR-S012
  }
}
