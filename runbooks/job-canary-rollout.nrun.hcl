# Roll out a new version of a service job through a canary:
#
#   nrun plan -var version=2 -out canary.plan runbooks/job-canary-rollout.nrun.hcl
#   nrun apply canary.plan
#
# The plan shows the job diff the Nomad servers computed (nomad plan) and
# records the job's JobModifyIndex. apply registers the job only if that
# index is unchanged, so a job someone changed after the plan is refused
# instead of overwritten (a check_index argument, when given, wins).
#
# The job's update block (jobs/web.nomad.hcl) asks for one canary and no
# auto-promotion. The deploy step waits until the canary is placed and
# healthy, the promote step promotes it and waits for the whole deployment
# to succeed, so the runbook runs unattended (-auto-approve, or a saved
# plan). When the canary fails, the deployment fails: with auto_revert
# Nomad rolls the job back to its last stable version, and the wait fails
# at once naming the deployment and the version the job went back to.
#
# To roll back by hand later, revert the job to the version it ran before,
# as a runbook of its own or by adding this step after promote:
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
  description = "Deploy var.version of the web job with one canary, promote it once healthy."
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

variable "job_vars" {
  type        = map(string)
  default     = {}
  description = "More jobspec variables (min_healthy_time, healthy_deadline, progress_deadline, restart_attempts, command); tests shorten the deadlines with them."
}

step "deploy" {
  action "nomad_job_run" {
    jobspec = "jobs/web.nomad.hcl"
    vars    = merge(var.job_vars, { version = var.version })
  }
  wait "deployment_canaries_healthy" {
    job     = var.job
    timeout = "10m"
  }
}

step "promote" {
  depends_on = [step.deploy]
  action "nomad_deployment_promote" {
    job = var.job
  }
  wait "deployment_successful" {
    job     = var.job
    timeout = "15m"
  }
}
