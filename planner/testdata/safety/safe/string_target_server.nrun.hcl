# The target is a string that turns out, at plan, to be a Nomad server: it
# is restarted after a snapshot, with a quorum check and a health wait.
# inventory: healthy

nomad {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restart" {
  depends_on = [step.snapshot]
  target     = "s3.global"
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", "s3", "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
