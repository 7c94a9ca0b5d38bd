step "risky" {
  allow_unsafe {
    rules  = ["NR-S004"]
    reason = "  " # ERROR: Empty allow_unsafe reason
  }
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
