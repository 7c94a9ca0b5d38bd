step "maint" {
  action "consul_maintenance" {
    node  = "web-1"
    agent = "web-1" # ERROR: Invalid argument value
  }
}
