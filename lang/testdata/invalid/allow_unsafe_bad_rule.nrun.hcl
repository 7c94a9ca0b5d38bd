step "risky" {
  allow_unsafe {
    rules  = ["quorum"] # ERROR: Invalid safety rule ID
    reason = "lab cluster"
  }
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
