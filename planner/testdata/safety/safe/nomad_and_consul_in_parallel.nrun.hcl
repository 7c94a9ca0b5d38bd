# Nomad and Consul are separate Raft clusters: restarting one server of each
# at the same time costs each cluster one failure, which each tolerates.
data "nomad_servers" "all" {}
data "consul_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "nomad.snap"
  }
}

step "consul_snapshot" {
  action "consul_snapshot_save" {
    path = "consul.snap"
  }
}

step "nomad_restart" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
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

step "consul_restart" {
  for_each     = data.consul_servers.all.by_name
  order        = "leader_last"
  depends_on   = [step.consul_snapshot]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "consul"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
