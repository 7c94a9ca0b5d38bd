step "mixed" {
  action "approval" { # ERROR: Both action and inner steps
    message = "go?"
  }
  step "inner" {
    action "exec" {
      command = ["true"]
      effect  = "none"
    }
  }
}
