step "upgrade" {
  action "exec" {
    command = ["echo", step.version.output] # ERROR: Reference to undeclared step
    effect  = "none"
  }
}
