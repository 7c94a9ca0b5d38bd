# The counterpart of s001_s005_consul_nomad_guards: the same restart, its
# quorum precondition and health wait reading Consul.

data "consul_servers" "all" {}

step "snapshot" {
  action "consul_snapshot_save" {
    path = "consul.snap"
  }
}

step "restart" {
  for_each   = data.consul_servers.all.by_name
  order      = "leader_last"
  depends_on = [step.snapshot]
  precondition "quorum_ok" {
    cluster = "consul"
  }
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "consul"]
    effect  = "restart"
  }
  wait "servers_healthy" {
    cluster = "consul"
    timeout = "5m"
  }
}
