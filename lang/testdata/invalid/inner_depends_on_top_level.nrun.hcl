step "snapshot" {
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}

step "outer" {
  step "inner" {
    depends_on = [step.snapshot] # ERROR: Reference to undeclared step
    action "exec" {
      command = ["true"]
      effect  = "none"
    }
  }
}
