# The issue's reproduction: a Consul rolling restart whose only guards are
# Nomad's quorum and a servers_healthy wait (which reads Nomad by default).

data "consul_servers" "all" {}

step "snapshot" {
  action "consul_snapshot_save" {
    path = "consul.snap"
  }
}

step "restart" { # NR-S001 NR-S005
  for_each   = data.consul_servers.all.by_name
  order      = "leader_last"
  depends_on = [step.snapshot]
  precondition "quorum_ok" {
    cluster = "nomad"
  }
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "consul"]
    effect  = "restart"
  }
  wait "servers_healthy" {
    timeout = "5m"
  }
}
