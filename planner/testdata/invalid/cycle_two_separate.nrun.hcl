# Two independent cycles give two diagnostics, one each; a cycle mixing a
# depends_on element and a reference is still one cycle.

step "ok" {
  action "sleep" {
    duration = "1s"
  }
}

step "p" {
  depends_on = [step.ok, step.q] # ERROR: Dependency cycle
  action "sleep" {
    duration = "1s"
  }
}

step "q" {
  action "exec" {
    command = ["echo", step.p.output]
    effect  = "none"
  }
}

step "x" {
  action "exec" {
    command = ["echo", step.y.output] # ERROR: Dependency cycle
    effect  = "none"
  }
}

step "y" {
  depends_on = [step.x]
  action "sleep" {
    duration = "1s"
  }
}
