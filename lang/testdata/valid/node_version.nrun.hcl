# A client upgrade that waits for each node's agent to come back at the
# new version.

variable "nomad_version" {
  type    = string
  default = "1.10.2"
}

data "nomad_nodes" "all" {}

step "upgrade" {
  for_each = data.nomad_nodes.all.by_name
  action "exec" {
    command = ["ssh", each.value.address, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "node_version" {
    version = var.nomad_version
    timeout = "10m"
  }
}
