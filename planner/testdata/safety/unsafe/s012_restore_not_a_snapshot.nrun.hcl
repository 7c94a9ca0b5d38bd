# The file exists but is not a gzip'd tar of meta.json and state.bin.
# inventory: healthy
# var: snapshot=testdata/safety/snapshots/not-a-snapshot.snap

variable "snapshot" {
  type = string
}

step "approve" {
  action "approval" {
    message = "Roll the Nomad state back?"
  }
}

step "restore" {
  depends_on = [step.approve]
  action "nomad_snapshot_restore" {
    path = var.snapshot # NR-S012
  }
}
