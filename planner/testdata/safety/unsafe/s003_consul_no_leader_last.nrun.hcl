# Restarting Consul servers in key order may take the leader first.

data "consul_servers" "all" {}

step "snapshot" {
  action "consul_snapshot_save" {
    path = "pre.snap"
  }
}

step "restart" { # NR-S003
  for_each     = data.consul_servers.all.by_name
  max_parallel = 1
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
