# A job rollout touches no server: no snapshot or quorum check is needed.
step "deploy" {
  action "nomad_job_run" {
    jobspec = "web.nomad.hcl"
  }
  wait "deployment_successful" {
    job     = "web"
    timeout = "10m"
  }
}
