step "revert" {
  action "nomad_job_revert" {
    job     = "web"
    version = -1 # ERROR: Invalid argument value
  }
}
