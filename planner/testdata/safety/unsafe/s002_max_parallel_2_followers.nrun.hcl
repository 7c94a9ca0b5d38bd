# It looks safe because the leader is left alone, but the two followers
# going down together are two of three voters.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restart" {
  for_each     = data.nomad_servers.all.followers
  max_parallel = 2 # NR-S002
  depends_on   = [step.snapshot]
  precondition "quorum_ok" {}
  precondition "leader_not_target" {}
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
