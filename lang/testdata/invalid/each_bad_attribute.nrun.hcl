data "nomad_servers" "all" {}

step "restart" {
  for_each = data.nomad_servers.all.by_name
  action "exec" {
    command = ["echo", each.val] # ERROR: Invalid "each" attribute
    effect  = "none"
  }
}
