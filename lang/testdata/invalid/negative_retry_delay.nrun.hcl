step "flaky" {
  retry {
    attempts = 3
    delay    = "-5s" # ERROR: Invalid duration
  }
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
