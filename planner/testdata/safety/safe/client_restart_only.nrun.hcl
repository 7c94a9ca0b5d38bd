# Restarting client agents touches no Raft server.

data "nomad_nodes" "web" {
  node_pool = "web"
}

step "clients" {
  for_each     = data.nomad_nodes.web.by_name
  max_parallel = 1
  target       = each.value
  action "exec" {
    command = ["ssh", each.value.name, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "node_ready" {
    timeout = "5m"
  }
}
