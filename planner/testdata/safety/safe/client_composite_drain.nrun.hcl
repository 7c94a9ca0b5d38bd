# Per node: drain, wait, stop, start; the inner drain is an ancestor sibling
# of the inner stop.

data "nomad_nodes" "old" {
  node_pool = "old"
}

step "replace" {
  for_each     = data.nomad_nodes.old.by_name
  max_parallel = 2
  target       = each.value

  step "drain" {
    action "nomad_node_drain" {
      deadline = "30m"
    }
    wait "node_drained" {
      timeout = "40m"
    }
  }
  step "stop" {
    depends_on = [step.drain]
    action "exec" {
      command = ["ssh", each.value.name, "sudo", "systemctl", "stop", "nomad"]
      effect  = "stop"
    }
  }
  step "start" {
    depends_on = [step.stop]
    action "exec" {
      command = ["ssh", each.value.name, "sudo", "systemctl", "start", "nomad"]
      effect  = "start"
    }
    wait "node_ready" {
      timeout = "5m"
    }
  }
}
