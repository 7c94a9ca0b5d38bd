# A Consul rolling restart whose health wait reads Nomad: servers_healthy
# reads the Nomad servers unless cluster = "consul" says otherwise.

data "consul_servers" "all" {}

step "snapshot" {
  action "consul_snapshot_save" {
    path = "consul.snap"
  }
}

step "restart" { # NR-S005
  for_each   = data.consul_servers.all.by_name
  order      = "leader_last"
  depends_on = [step.snapshot]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "consul"]
    effect  = "restart"
  }
  wait "servers_healthy" {
    timeout = "5m"
  }
}
