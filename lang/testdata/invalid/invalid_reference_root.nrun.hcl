step "hello" {
  action "exec" {
    command = ["echo", path.module] # ERROR: Invalid reference
    effect  = "none"
  }
}
