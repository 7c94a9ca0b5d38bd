step "check" {
  precondition "servers_version" {} # ERROR: Missing required argument
  action "approval" {
    message = "continue?"
  }
}
