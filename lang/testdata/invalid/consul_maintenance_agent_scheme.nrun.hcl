step "maint" {
  action "consul_maintenance" {
    node  = "web-1"
    agent = "tcp://10.0.0.5:8500" # ERROR: Invalid argument value
  }
}
