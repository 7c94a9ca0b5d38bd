# The stop inside the composite is guarded by nothing: quorum_ok is on
# neither the inner step nor the composite.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "upgrade" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.snapshot]

  step "stop" { # NR-S001
    action "exec" {
      command = ["ssh", each.value.host, "sudo", "systemctl", "stop", "nomad"]
      effect  = "stop"
    }
  }
  step "start" {
    depends_on = [step.stop]
    action "exec" {
      command = ["ssh", each.value.host, "sudo", "systemctl", "start", "nomad"]
      effect  = "start"
    }
    wait "server_healthy" {
      timeout = "5m"
    }
  }
}
