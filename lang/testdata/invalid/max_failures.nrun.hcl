variable "budget" { # WARNING: Unused variable
  type    = number
  default = 1
}

step "no_for_each" {
  max_failures = 1 # ERROR: Invalid use of max_failures
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

step "over_100" {
  for_each     = toset(["a"])
  max_failures = "101%" # ERROR: Invalid max_failures value
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

step "negative" {
  for_each     = toset(["a"])
  max_failures = -1 # ERROR: Invalid max_failures value
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

step "fraction" {
  for_each     = toset(["a"])
  max_failures = "a quarter" # ERROR: Invalid max_failures value
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

step "variable" {
  for_each     = toset(["a"])
  max_failures = var.budget # ERROR: Variables not allowed
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}

step "outer" {
  for_each = toset(["a"])
  step "inner" {
    max_failures = 1 # ERROR: Argument not allowed on an inner step
    action "exec" {
      command = ["true"]
      effect  = "none"
    }
  }
}
