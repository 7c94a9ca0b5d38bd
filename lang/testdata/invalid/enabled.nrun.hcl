variable "mode" {
  type    = string
  default = "fast"
}

step "not_bool" {
  enabled = var.mode # ERROR: Incorrect attribute value type
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

step "probe" {
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

step "on_output" {
  enabled = step.probe.output == "yes" # ERROR: Reference not allowed here
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

step "per_instance" {
  for_each = toset(["a", "b"])
  enabled  = each.key == "a" # ERROR: Reference to "each" in context without for_each
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

step "outer" {
  step "inner" {
    enabled = true # ERROR: Argument not allowed on an inner step
    action "exec" {
      command = ["true"]
      effect  = "none"
    }
  }
}
