# The waiver names NR-S004, so the missing quorum check is still an error.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restart" { # NR-S001
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  depends_on   = [step.snapshot]
  allow_unsafe {
    rules  = ["NR-S004"]
    reason = "copied from another runbook"
  }
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
