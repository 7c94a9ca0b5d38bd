step "guarded" {
  precondition { # ERROR: Missing required argument
    condition = true
  }
  action "approval" {
    message = "go?"
  }
}
