data "nomad_servers" "all" {}

step "many" {
  for_each = values(data.nomad_servers.all.by_name) # ERROR: Invalid for_each argument
  action "exec" {
    command = ["echo", each.key]
    effect  = "none"
  }
}
