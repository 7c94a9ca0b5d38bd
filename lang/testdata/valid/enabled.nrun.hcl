variable "upgrade_consul" {
  type    = bool
  default = true
}

data "consul_servers" "all" {}

locals {
  has_consul = length(data.consul_servers.all.names) > 0
}

step "consul" {
  enabled = var.upgrade_consul && local.has_consul
  action "exec" {
    command = ["echo", "consul"]
    effect  = "none"
  }
}

step "literal" {
  enabled = false
  action "exec" {
    command = ["echo", "never"]
    effect  = "none"
  }
}
