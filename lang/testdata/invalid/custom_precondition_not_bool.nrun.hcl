step "guarded" {
  precondition {
    condition     = 42 # ERROR: Incorrect attribute value type
    error_message = "never"
  }
  action "approval" {
    message = "go?"
  }
}
