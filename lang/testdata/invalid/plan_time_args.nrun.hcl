variable "timeout" {
  type    = string
  default = "5 minutes"
}

variable "parallel" {
  type    = number
  default = 0
}

variable "wait_for" {
  type    = number
  default = 30
}

data "nomad_servers" "all" {}

step "probe" {
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

locals {
  after_probe = step.probe.output
}

step "bad_timeout" {
  timeout = var.timeout # ERROR: Invalid duration
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}

step "zero_parallel" {
  for_each     = data.nomad_servers.all.by_name
  max_parallel = var.parallel # ERROR: Invalid max_parallel value
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

step "each_parallel" {
  for_each     = toset(["1", "2"])
  max_parallel = tonumber(each.key) # ERROR: Reference to "each" in context without for_each
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

step "output_timeout" {
  timeout = local.after_probe # ERROR: Reference not allowed here
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

step "wait_number" {
  for_each = data.nomad_servers.all.by_name
  target   = each.value
  action "exec" {
    command = ["true"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = var.wait_for # ERROR: Invalid duration
  }
}
