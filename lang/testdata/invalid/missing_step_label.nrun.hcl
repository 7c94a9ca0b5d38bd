step { # ERROR: Missing block label
  action "approval" {
    message = "go?"
  }
}
