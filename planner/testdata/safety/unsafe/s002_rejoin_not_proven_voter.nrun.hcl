# After a failed upgrade autopilot removed the down server s3 from Raft: two
# voters are left. It is started again, but only server_healthy waits on it,
# which holds for a non-voter too: the voter set is not proven back to three,
# so taking s1 down may leave one voter of two.
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
}

step "rollback" { # NR-S002
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
