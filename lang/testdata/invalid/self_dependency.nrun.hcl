step "loop" {
  depends_on = [step.loop] # ERROR: Step depends on itself
  action "approval" {
    message = "again?"
  }
}
