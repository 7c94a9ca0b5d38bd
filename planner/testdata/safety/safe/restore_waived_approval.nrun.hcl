# The restore was approved out of band: the waiver says so, and is used.
step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restore" {
  depends_on = [step.snapshot]
  allow_unsafe {
    rules  = ["NR-S012"]
    reason = "the change board approved the restore in ticket OPS-1234"
  }
  action "nomad_snapshot_restore" {
    path = "pre.snap"
  }
}
