data "nomad_servers" "all" {}

step "restart" {
  for_each = data.nomad_servers.all.by_name
  order    = "leader_first" # ERROR: Invalid order value
  action "exec" {
    command = ["ssh", each.value.host, "sudo systemctl restart nomad"]
    effect  = "restart"
  }
}
