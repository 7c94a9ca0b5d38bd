# Job operations: run, watch, promote, and revert on failure.
variable "image" {
  type    = string
  default = "web:2"
}

nomad {
  address   = "http://127.0.0.1:4646"
  region    = "global"
  namespace = "default"
}

step "run" {
  precondition "http_ok" {
    url    = "http://127.0.0.1:4646/v1/status/leader"
    status = 200
  }
  action "nomad_job_run" {
    jobspec     = "jobs/web.nomad.hcl"
    vars        = { image = var.image }
    check_index = 0
  }
}

step "pause" {
  depends_on = [step.run]
  action "sleep" {
    duration = "30s"
  }
}

step "promote" {
  depends_on = [step.pause]
  action "nomad_deployment_promote" {
    job    = "web"
    groups = ["frontend"]
  }
  wait "deployment_successful" {
    job     = "web"
    timeout = "10m"
  }
}

step "confirm" {
  depends_on = [step.promote]
  action "approval" {
    message = "Keep web on ${var.image}?"
  }
}

step "revert" {
  depends_on = [step.confirm]
  on_failure = "continue"
  action "nomad_job_revert" {
    job     = "web"
    version = 3
  }
}
