# An approval exists, but the Consul restore does not depend on it.
step "snapshot" {
  action "consul_snapshot_save" {
    path = "consul-pre.snap"
  }
}

step "approve" {
  action "approval" {
    message = "Roll the Consul state back?"
  }
}

step "restore" {
  depends_on = [step.snapshot]
  action "consul_snapshot_restore" { # NR-S012
    path = "consul-pre.snap"
  }
}
