step "outer" {
  step "inner" {
    max_parallel = 2 # ERROR: Argument not allowed on an inner step
    action "exec" {
      command = ["true"]
      effect  = "none"
    }
  }
}
