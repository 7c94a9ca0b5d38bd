# Roll out a new version of a service job through a canary:
#
#   nrun plan -var version=2 -var check_index=$(nomad job inspect -t '{{.JobModifyIndex}}' web) \
#     runbooks/job-canary-rollout.nrun.hcl
#
# The job's update block (jobs/web.nomad.hcl) asks for one canary and no
# auto-promotion, so after the run Nomad starts one canary and its
# deployment waits for promotion. A deployment waiting for promotion never
# becomes successful, so the runbook does not wait for that here; it stops
# for an operator's approval instead (check `nomad deployment status`), then
# promotes and waits for the whole deployment to succeed.
#
# check_index makes the run fail if someone changed the job since the index
# was read, instead of overwriting their change.
#
# To roll back, revert the job to the version it ran before, as a runbook of
# its own or by adding this step after promote:
#
#   step "revert" {
#     action "nomad_job_revert" {
#       job     = var.job
#       version = var.previous_job_version   # from `nomad job history web`
#     }
#     wait "deployment_successful" {
#       job     = var.job
#       timeout = "10m"
#     }
#   }

runbook "job-canary-rollout" {
  description = "Deploy var.version of the web job with one canary, promote after approval."
}

variable "job" {
  type        = string
  default     = "web"
  description = "The job ID, as declared in the jobspec."
}

variable "version" {
  type        = string
  description = "The version to roll out, passed to the jobspec as var.version."
}

variable "check_index" {
  type        = number
  description = "The job's current JobModifyIndex (0 when the job does not exist yet)."
}

step "deploy" {
  action "nomad_job_run" {
    jobspec     = "jobs/web.nomad.hcl"
    check_index = var.check_index
    vars = {
      version = var.version
    }
  }
}

step "approve" {
  depends_on = [step.deploy]
  action "approval" {
    message = "The canary of ${var.job} runs version ${var.version}. Check `nomad deployment status` and promote?"
  }
}

step "promote" {
  depends_on = [step.approve]
  action "nomad_deployment_promote" {
    job = var.job
  }
  wait "deployment_successful" {
    job     = var.job
    timeout = "15m"
  }
}
