# A composite step with an explicit target; inner steps read a sibling's
# output and the outer for_each's each.
data "nomad_servers" "all" {}

locals {
  leader_name = data.nomad_servers.all.leader.name
}

step "retire" {
  for_each     = data.nomad_servers.all.followers
  max_parallel = 1
  target       = each.value
  timeout      = "1h"

  step "version" {
    action "exec" {
      command = ["ssh", each.value.host, "nomad", "version"]
      effect  = "none"
    }
  }
  step "stop" {
    depends_on = [step.version]
    precondition {
      condition     = trimspace(step.version.output) != ""
      error_message = "no version reported by ${each.key}"
    }
    action "exec" {
      command = ["ssh", each.value.host, "sudo systemctl stop nomad"]
      effect  = "stop"
      check   = ["ssh", each.value.host, "! systemctl is-active nomad"]
    }
    retry {
      attempts = 3
      delay    = "5s"
    }
  }
}

step "report" {
  depends_on = [step.retire]
  action "exec" {
    command = ["echo", local.leader_name]
    effect  = "none"
  }
}

output "leader" {
  value = local.leader_name
}
