step "hello" {
  action "exec" {
    command = [] # ERROR: Invalid argument value
    effect  = "none"
  }
}
