variable "new_version" {
  type    = string
  default = "1.10.0"
}

data "nomad_nodes" "web" {}

step "check_servers" {
  precondition "servers_version" {
    min = var.new_version
  }
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

step "ping" {
  for_each = data.nomad_nodes.web.by_name
  precondition {
    condition     = version_compare(each.value.version, var.new_version) >= 0
    error_message = "The node runs an older version."
  }
  action "exec" {
    command = ["ping", "-c1", each.value.host]
    effect  = "none"
  }
}
