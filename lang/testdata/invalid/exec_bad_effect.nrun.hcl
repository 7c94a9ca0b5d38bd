step "hello" {
  action "exec" {
    command = ["echo", "hello"]
    effect  = "reboot" # ERROR: Invalid effect
  }
}
