# The stop and the force-leave are in the same composite step but not
# ordered: the force-leave may run while the server is still up.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "retire" {
  depends_on = [step.snapshot]
  target     = data.nomad_servers.all.by_name["s3"]
  precondition "quorum_ok" {}

  step "stop" {
    action "exec" {
      command = ["ssh", "s3", "sudo", "systemctl", "stop", "nomad"]
      effect  = "stop"
    }
  }
  step "leave" { # NR-S007
    action "nomad_server_force_leave" {}
  }
}
