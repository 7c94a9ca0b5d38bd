# The target is a string; at plan it turns out to be a Nomad server, which
# is then stopped without a quorum check.
# inventory: healthy

nomad {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "retire" { # NR-S001
  depends_on = [step.snapshot]
  target     = "s3.global"
  action "exec" {
    command = ["ssh", "s3", "sudo", "systemctl", "stop", "nomad"]
    effect  = "stop"
  }
}
