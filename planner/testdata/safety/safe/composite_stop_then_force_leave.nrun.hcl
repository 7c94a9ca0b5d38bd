# In a composite, an inner stop that finishes before the inner force-leave
# is enough.

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
  step "leave" {
    depends_on = [step.stop]
    action "nomad_server_force_leave" {
      prune = true
    }
  }
}
