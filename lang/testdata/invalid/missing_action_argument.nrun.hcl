step "snapshot" {
  action "nomad_snapshot_save" { # ERROR: Missing required argument
  }
}
