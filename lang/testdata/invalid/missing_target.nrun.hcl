step "restart" {
  precondition "leader_not_target" {} # ERROR: Missing target
  action "exec" {
    command = ["true"]
    effect  = "restart"
  }
}
