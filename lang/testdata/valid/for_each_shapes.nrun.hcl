# for_each over a set of strings, an object, and a map of nodes; durations
# with days.
variable "dcs" {
  type    = list(string)
  default = ["dc1", "dc2"]
}

data "nomad_nodes" "all" {}

step "per_dc" {
  for_each = toset(var.dcs)
  timeout  = "1d2h"
  action "exec" {
    command = ["echo", each.key, each.value]
    effect  = "none"
  }
}

step "per_item" {
  for_each = { web = "8080", api = "9090" }
  action "exec" {
    command = ["curl", "http://127.0.0.1:${each.value}/health"]
    effect  = "none"
  }
}

step "per_node" {
  for_each     = data.nomad_nodes.all.by_id
  max_parallel = 5
  precondition {
    condition     = !each.value.drain && each.value.eligibility == "eligible"
    error_message = "node ${each.value.name} is draining or ineligible"
  }
  action "exec" {
    command = ["ssh", each.value.address, "uptime"]
    effect  = "none"
  }
  wait "node_ready" {
    timeout = "2d"
  }
}
