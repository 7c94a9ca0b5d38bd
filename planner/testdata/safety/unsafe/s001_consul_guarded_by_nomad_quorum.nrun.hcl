# A Consul rolling restart guarded by Nomad's quorum: the precondition
# reads the wrong cluster, so it guards nothing here.

data "consul_servers" "all" {}

step "snapshot" {
  action "consul_snapshot_save" {
    path = "consul.snap"
  }
}

step "restart" { # NR-S001
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
  wait "server_healthy" {
    timeout = "5m"
  }
}
