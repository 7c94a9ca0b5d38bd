# The run saves the file it restores, but nothing orders the two: the
# restore can read the file before it is written, or an older one.
step "approve" {
  action "approval" {
    message = "Roll the Nomad state back?"
  }
}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restore" {
  depends_on = [step.approve]
  action "nomad_snapshot_restore" {
    path = "pre.snap" # NR-S012
  }
}
