data "nomad_servers" "all" {}

step "restart" {
  for_each = data.nomad_servers.all.by_name
  precondition "leader_not_target" {
    transfers = true # ERROR: Unsupported argument
  }
  action "exec" {
    command = ["ssh", each.value.host, "sudo systemctl restart nomad"]
    effect  = "restart"
  }
}
