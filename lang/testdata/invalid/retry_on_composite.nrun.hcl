step "outer" {
  retry { # ERROR: Retry not allowed on a composite step
    attempts = 2
  }
  step "inner" {
    action "exec" {
      command = ["true"]
      effect  = "none"
    }
  }
}
