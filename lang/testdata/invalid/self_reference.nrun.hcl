step "loop" {
  action "exec" {
    command = ["echo", step.loop.output] # ERROR: Step depends on itself
    effect  = "none"
  }
}
