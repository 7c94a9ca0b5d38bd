data "nomad_servers" "all" {}

step "restart" {
  for_each = data.nomad_servers.all.by_name
  action "exec" {
    command = ["ssh", each.value.hostname, "true"] # ERROR: Unsupported attribute
    effect  = "restart"
  }
}
