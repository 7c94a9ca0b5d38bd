# Two unordered Consul restarts: one server of each step may be down.

data "consul_servers" "all" {}

step "snapshot" {
  action "consul_snapshot_save" {
    path = "consul.snap"
  }
}

step "restart_a" {
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

step "restart_b" { # NR-S002
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
