# A snapshot taken by an earlier run: at plan the file exists and reads as
# a Raft snapshot (meta.json, then state.bin). The fixture is analysed with
# the bare file name, so the path is relative to the planner package.
# inventory: healthy

step "approve" {
  action "approval" {
    message = "Roll the Nomad state back to the pre-upgrade snapshot?"
  }
}

step "restore" {
  depends_on = [step.approve]
  action "nomad_snapshot_restore" {
    path = "testdata/safety/snapshots/nomad.snap"
  }
}
