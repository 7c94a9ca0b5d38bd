# After a failed upgrade autopilot removed the down server s3 from Raft: two
# voters are left. It is started again and proven a voter (servers_healthy
# with a count), so the cluster has three voters again and one server at a
# time may go down for its rollback.
# inventory: upgrade_failed

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "recover" {
  for_each     = { for name, s in data.nomad_servers.all.by_name : name => s if s.status != "alive" }
  max_parallel = 1
  depends_on   = [step.snapshot]
  target       = each.value
  action "exec" {
    command = ["nrun", "sandbox", "server", "start", each.value.name]
    effect  = "start"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
  wait "servers_healthy" {
    count   = length(data.nomad_servers.all.by_name)
    timeout = "5m"
  }
}

step "rollback" {
  for_each     = { for name, s in data.nomad_servers.all.by_name : name => s if s.status == "alive" && s.version != "1.9.4" }
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.recover]
  target       = each.value
  precondition "quorum_ok" {}
  action "exec" {
    command = ["nrun", "sandbox", "server", "restart", each.value.name]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
