step "risky" {
  allow_unsafe { # ERROR: Missing required argument
    rules = ["NR-S004"]
  }
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
