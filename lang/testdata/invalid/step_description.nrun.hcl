variable "why" { # WARNING: Unused variable
  type    = string
  default = "Because."
}

step "snapshot" {
  description = var.why # ERROR: Variables not allowed
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}

step "again" {
  description = ["a", "list"] # ERROR: Incorrect attribute value type
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}
