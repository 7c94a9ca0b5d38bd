locals {
  user = "ops"
}

step "hello" {
  action "exec" {
    command = ["echo", local.usr] # ERROR: Reference to undeclared local value
    effect  = "none"
  }
}
