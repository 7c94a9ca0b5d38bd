step "hello" {
  action "exec" {
    command = "echo hello" # ERROR: Incorrect attribute value type
    effect  = "none"
  }
}
