step "restart" {
  order = "leader_last" # ERROR: Invalid use of order
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
