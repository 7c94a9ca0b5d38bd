variable "parallel" {
  type    = number
  default = 2
}

variable "step_timeout" {
  type    = string
  default = "20m"
}

data "nomad_nodes" "all" {}

locals {
  wait_for = "5m"
}

step "drain" {
  for_each     = data.nomad_nodes.all.by_name
  max_parallel = var.parallel
  timeout      = var.step_timeout
  target       = each.value
  action "nomad_node_drain" {}
  wait "node_drained" {
    timeout = local.wait_for
  }
}

step "by_size" {
  for_each     = data.nomad_nodes.all.by_name
  max_parallel = max(1, floor(length(data.nomad_nodes.all.names) / 4))
  target       = each.value
  action "nomad_node_eligibility" {
    eligible = true
  }
}
