# Servers first, then clients.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

data "nomad_nodes" "web" {
  node_pool = "web"
}

step "servers" {
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

step "clients" {
  for_each     = data.nomad_nodes.web.by_name
  max_parallel = 1
  depends_on   = [step.servers]
  target       = each.value
  action "exec" {
    command = ["ssh", each.value.name, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "node_ready" {
    timeout = "5m"
  }
}
