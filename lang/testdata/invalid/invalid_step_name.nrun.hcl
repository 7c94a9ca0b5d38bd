step "1st" { # ERROR: Invalid name
  action "approval" {
    message = "go?"
  }
}
