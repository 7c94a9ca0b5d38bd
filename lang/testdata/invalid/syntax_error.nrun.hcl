step "broken" {
  action "approval" {
    message = # ERROR: Invalid expression
  }
}
