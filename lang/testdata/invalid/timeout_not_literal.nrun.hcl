variable "timeout" { # WARNING: Unused variable
  type    = string
  default = "5m"
}

step "snapshot" {
  timeout = var.timeout # ERROR: Variables not allowed
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}
