step "neither" {
  precondition "servers_version" { # ERROR: Missing required argument
  }
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}

step "both" {
  precondition "servers_version" {
    version = "1.10.0"
    min     = "1.10.0" # ERROR: Conflicting arguments
  }
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}

step "bad_min" {
  precondition "servers_version" {
    min = "latest" # ERROR: Invalid argument value
  }
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}

step "bad_compare" {
  precondition {
    condition     = version_compare("1.10.0", []) > 0 # ERROR: Invalid function argument
    error_message = "Never."
  }
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}
