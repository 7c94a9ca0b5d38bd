data "nomad_nodes" "old" {}

step "drain" {
  for_each = data.nomad_nodes.old.by_name
  action "nomad_node_drian" { # ERROR: Unknown action type
    deadline = "1h"
  }
}
