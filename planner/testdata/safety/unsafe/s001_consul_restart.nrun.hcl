# Consul servers need the quorum check as much as Nomad's.

data "consul_servers" "all" {}

step "snapshot" {
  action "consul_snapshot_save" {
    path = "consul.snap"
  }
}

step "restart" { # NR-S001
  for_each     = data.consul_servers.all.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.snapshot]
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "consul"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
