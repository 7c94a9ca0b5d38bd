# A service job rolled out with canaries by job-canary-rollout.nrun.hcl.
# The runbook passes the version as a jobspec variable; the other
# variables let a test shorten the deadlines or make the task fail.

variable "version" {
  type    = string
  default = "1"
}

variable "min_healthy_time" {
  type    = string
  default = "10s"
}

variable "healthy_deadline" {
  type    = string
  default = "2m"
}

variable "progress_deadline" {
  type    = string
  default = "5m"
}

variable "restart_attempts" {
  type    = number
  default = 2
}

variable "command" {
  type        = string
  default     = "exec sleep 3600"
  description = "What the task runs after printing its version."
}

job "web" {
  type = "service"

  group "web" {
    count = 3

    update {
      max_parallel      = 1
      canary            = 1
      auto_promote      = false
      auto_revert       = true
      min_healthy_time  = var.min_healthy_time
      healthy_deadline  = var.healthy_deadline
      progress_deadline = var.progress_deadline
    }

    restart {
      attempts = var.restart_attempts
      mode     = "fail"
    }

    task "web" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo web version ${var.version}; ${var.command}"]
      }

      env {
        WEB_VERSION = var.version
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
