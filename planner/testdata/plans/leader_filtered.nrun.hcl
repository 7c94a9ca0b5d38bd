# The blue servers are a filtered set that holds the leader: leader_last
# must put blue-s2 (the leader) last, and green servers must not appear.
runbook "leader-filtered" {
  description = "Restart the blue servers, leader last."
}

data "nomad_servers" "blue" {
  name = "^blue-"
}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "before.snap"
  }
}

step "restart" {
  for_each     = data.nomad_servers.blue.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.snapshot]
  target       = each.value
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
