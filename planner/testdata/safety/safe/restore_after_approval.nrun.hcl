# The snapshot is saved by an earlier step, and an operator approves the
# restore when the run reaches it. Nothing is read from disk at validate.
variable "snapshot_path" {
  type    = string
  default = "pre.snap"
}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = var.snapshot_path
  }
}

step "approve" {
  depends_on = [step.snapshot]
  action "approval" {
    message = "Roll the Nomad state back to the snapshot?"
  }
}

step "restore" {
  depends_on = [step.approve]
  action "nomad_snapshot_restore" {
    path = var.snapshot_path
  }
}
