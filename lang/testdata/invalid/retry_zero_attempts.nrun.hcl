step "flaky" {
  retry {
    attempts = 0 # ERROR: Invalid attempts value
  }
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
