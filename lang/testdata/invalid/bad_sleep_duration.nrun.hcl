step "pause" {
  action "sleep" {
    duration = "a while" # ERROR: Invalid duration
  }
}
