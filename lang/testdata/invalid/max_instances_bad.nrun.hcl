runbook "bad_cap" {
  max_instances       = 0        # ERROR: Invalid max_instances value
  max_total_instances = 20000000 # ERROR: Invalid max_total_instances value
}
step "a" {
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
