step "empty" { # ERROR: Missing action
  timeout = "5m"
}
