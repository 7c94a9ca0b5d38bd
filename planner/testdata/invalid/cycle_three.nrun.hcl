# A cycle of three, declared out of order. The diagnostic starts at the
# earliest-declared step of the cycle (step.c), not at the first step of the
# file (step.root, which is not in the cycle).

step "root" {
  action "sleep" {
    duration = "1s"
  }
}

step "c" {
  depends_on = [step.root, step.b] # ERROR: Dependency cycle
  action "sleep" {
    duration = "1s"
  }
}

step "a" {
  depends_on = [step.c]
  action "sleep" {
    duration = "1s"
  }
}

step "b" {
  depends_on = [
    step.root,
    step.a,
  ]
  action "sleep" {
    duration = "1s"
  }
}

# Waits behind the cycle, so it cannot start either; it is not reported.
step "after" {
  depends_on = [step.a]
  action "sleep" {
    duration = "1s"
  }
}
