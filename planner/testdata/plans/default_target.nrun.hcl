# No `target =`: each instance's target is each.value of its for_each, and
# quorum_ok must reason about that server, not about "no target".
data "nomad_servers" "all" {}

step "snap" {
  action "nomad_snapshot_save" {
    path = "x.snap"
  }
}

step "restart" {
  for_each   = data.nomad_servers.all.by_name
  order      = "leader_last"
  depends_on = [step.snap]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["true", each.value.host]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
