data "nomad_servers" "all" {}

step "retire" {
  for_each = data.nomad_servers.all.by_name
  step "stop" {
    action "exec" {
      command = ["ssh", each.value.host, "sudo systemctl stop nomad"]
      effect  = "stop"
    }
  }
  step "stop" { # ERROR: Duplicate step
    action "exec" {
      command = ["true"]
      effect  = "none"
    }
  }
}
