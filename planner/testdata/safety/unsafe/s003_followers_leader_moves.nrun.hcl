# The followers are fixed when the plan is made. Restarting one can start
# an election that makes a follower still to come the leader, and the
# step then restarts the leader while others wait.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restart" { # NR-S003
  for_each     = data.nomad_servers.all.followers
  max_parallel = 1
  depends_on   = [step.snapshot]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
