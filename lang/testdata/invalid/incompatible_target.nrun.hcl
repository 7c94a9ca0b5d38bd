data "nomad_servers" "all" {}

step "drain" {
  for_each = data.nomad_servers.all.by_name
  action "nomad_node_drain" { # ERROR: Incompatible target
    deadline = "1h"
  }
}
