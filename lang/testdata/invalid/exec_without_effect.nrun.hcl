step "hello" {
  action "exec" { # ERROR: Missing required argument
    command = ["echo", "hello"]
  }
}
