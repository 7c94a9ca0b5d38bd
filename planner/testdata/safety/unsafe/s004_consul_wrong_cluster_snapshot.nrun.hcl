# A Nomad snapshot does not protect the Consul cluster.
data "consul_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "nomad.snap"
  }
}

step "restart" { # NR-S004
  for_each     = data.consul_servers.all.by_name
  order        = "leader_last"
  depends_on   = [step.snapshot]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "consul"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
