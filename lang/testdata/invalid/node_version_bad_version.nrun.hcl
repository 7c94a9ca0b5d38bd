# node_version needs a version it can compare.

data "nomad_nodes" "all" {}

step "upgrade" {
  for_each = data.nomad_nodes.all.by_name
  action "exec" {
    command = ["ssh", each.value.address, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "node_version" {
    version = "one point ten" # ERROR: Invalid argument value
    timeout = "10m"
  }
}
