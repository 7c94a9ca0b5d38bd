data "nomad_servers" "all" {}

step "restart" {
  for_each = data.nomad_servers.all.by_name
  action "exec" {
    command = ["ssh", each.value.host, "sudo systemctl restart nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5x" # ERROR: Invalid duration
  }
}
