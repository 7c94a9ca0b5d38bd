step "hello" {
  action "exec" {
    command = ["echo", var.greeting] # ERROR: Reference to undeclared input variable
    effect  = "none"
  }
}
