# A cycle among the inner steps of a composite step. The composite itself
# has no cycle with the top-level steps.

step "snapshot" {
  action "sleep" {
    duration = "1s"
  }
}

step "retire" {
  depends_on = [step.snapshot]

  step "stop" {
    depends_on = [step.start] # ERROR: Dependency cycle
    action "exec" {
      command = ["true", "stop"]
      effect  = "none"
    }
  }

  step "swap" {
    depends_on = [step.stop]
    action "exec" {
      command = ["true", "swap"]
      effect  = "none"
    }
  }

  step "start" {
    depends_on = [step.swap]
    action "exec" {
      command = ["true", "start"]
      effect  = "none"
    }
  }
}
