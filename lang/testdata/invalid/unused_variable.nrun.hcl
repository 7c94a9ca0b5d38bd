variable "forgotten" { # WARNING: Unused variable
  type = string
}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}
