# A service job rolled out with canaries by job-canary-rollout.nrun.hcl.
# The runbook passes the version as a jobspec variable.

variable "version" {
  type    = string
  default = "1"
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
      min_healthy_time  = "10s"
      healthy_deadline  = "2m"
      progress_deadline = "5m"
    }

    task "web" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo web version ${var.version}; exec sleep 3600"]
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
