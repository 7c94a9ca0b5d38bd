step "probe" {
  precondition "http_ok" {
    url    = "http://127.0.0.1:8080/health"
    status = "ok" # ERROR: Incorrect attribute value type
  }
  action "approval" {
    message = "continue?"
  }
}
