step "hello" {
  target = 42 # ERROR: Invalid target
  action "exec" {
    command = ["true"]
    effect  = "restart"
  }
}
