# The followers of the plan: an election during the run can make one of
# them the leader before its turn, so each instance checks it is not.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restart" {
  for_each     = data.nomad_servers.all.followers
  max_parallel = 1
  depends_on   = [step.snapshot]
  precondition "quorum_ok" {}
  precondition "leader_not_target" {
    transfer = true
  }
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
