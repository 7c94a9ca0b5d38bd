# The snapshot comes from an earlier step, but nobody is asked before the
# state is rolled back.
step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restore" {
  depends_on = [step.snapshot]
  action "nomad_snapshot_restore" { # NR-S012
    path = "pre.snap"
  }
}
