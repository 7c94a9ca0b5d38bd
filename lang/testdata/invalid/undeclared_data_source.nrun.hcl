data "nomad_servers" "all" {}

step "restart" {
  for_each = data.nomad_servers.al.by_name # ERROR: Reference to undeclared data source
  action "exec" {
    command = ["ssh", each.value.host, "sudo systemctl restart nomad"]
    effect  = "restart"
  }
}
