# max_parallel computed from a data source is not known offline, so the
# analysis assumes the worst legal value: every instance at once.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restart" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = max(1, length(data.nomad_servers.all.names) - 1) # NR-S002
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
