step "outer" {
  step "middle" {
    step "inner" { # ERROR: Steps nested too deeply
      action "exec" {
        command = ["true"]
        effect  = "none"
      }
    }
  }
}
