# The approval is an inner step of a composite the restore depends on;
# the Consul snapshot is saved and restored by the same expression.
step "prepare" {
  step "snapshot" {
    action "consul_snapshot_save" {
      path = "consul-pre.snap"
    }
  }
  step "approve" {
    depends_on = [step.snapshot]
    action "approval" {
      message = "Roll the Consul state back?"
    }
  }
}

step "restore" {
  depends_on = [step.prepare]
  action "consul_snapshot_restore" {
    path = "consul-pre.snap"
  }
}
