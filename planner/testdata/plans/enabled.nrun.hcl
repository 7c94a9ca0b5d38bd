# enabled: a step whose condition is false at plan is skipped, and the
# step after it waits for what it depended on.
runbook "enabled" {
  description = "Upgrade Consul only when asked."
}

variable "upgrade_consul" {
  type    = bool
  default = false
}

step "snapshot" {
  description = "Save Nomad's state first."
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "consul" {
  description = "Restart Consul on the new binary."
  enabled     = var.upgrade_consul
  depends_on  = [step.snapshot]
  action "exec" {
    command = ["echo", "consul"]
    effect  = "none"
  }
}

step "verify" {
  depends_on = [step.consul]
  action "exec" {
    command = ["echo", "verify"]
    effect  = "none"
  }
}
