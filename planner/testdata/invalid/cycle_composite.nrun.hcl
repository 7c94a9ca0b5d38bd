# A top-level cycle through a composite step: verify waits for every
# instance of retire, and retire waits for verify.

step "verify" {
  depends_on = [step.retire] # ERROR: Dependency cycle
  action "sleep" {
    duration = "1s"
  }
}

step "retire" {
  depends_on = [step.verify]

  step "stop" {
    action "exec" {
      command = ["true", "stop"]
      effect  = "none"
    }
  }
}
