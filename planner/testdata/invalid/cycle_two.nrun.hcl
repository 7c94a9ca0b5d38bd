# Two steps that wait for each other: neither can ever start.

step "drain" {
  depends_on = [step.restart] # ERROR: Dependency cycle
  action "sleep" {
    duration = "1s"
  }
}

step "restart" {
  depends_on = [step.drain]
  action "sleep" {
    duration = "1s"
  }
}
