data "nomad_servers" "all" {}

step "restart" {
  for_each     = data.nomad_servers.all.by_name
  max_parallel = 0 # ERROR: Invalid max_parallel value
  action "exec" {
    command = ["ssh", each.value.host, "sudo systemctl restart nomad"]
    effect  = "restart"
  }
}
