# A blue/green server replacement: the shape `nrun graph` draws.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}

step "consul_snapshot" {
  action "consul_snapshot_save" {
    path = "consul.snap"
  }
}

step "upgrade" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.snapshot, step.consul_snapshot]
  target       = each.value

  precondition "quorum_ok" {}

  action "exec" {
    command = ["ssh", each.value.host, "sudo systemctl restart nomad"]
    effect  = "restart"
  }

  wait "server_healthy" {
    timeout = "5m"
  }
}

step "retire" {
  for_each     = data.nomad_servers.all.followers
  max_parallel = 1
  depends_on   = [step.upgrade]

  precondition "quorum_ok" {}

  step "stop" {
    action "exec" {
      command = ["ssh", each.value.host, "sudo systemctl stop nomad"]
      effect  = "stop"
    }
  }
  step "remove" {
    depends_on = [step.stop]
    action "nomad_raft_remove_peer" {
      server = each.value
    }
  }
  step "audit" {
    action "exec" {
      command = ["echo", each.key]
      effect  = "none"
    }
  }
  step "report" {
    action "exec" {
      command = ["echo", step.remove.output, step.audit.output]
      effect  = "none"
    }
  }
}

step "verify" {
  depends_on = [step.retire]
  action "exec" {
    command = ["nomad", "server", "members"]
    effect  = "none"
  }
}

step "notify" {
  action "exec" {
    command = ["echo", "done: ${step.verify.output}", step.snapshot.output]
    effect  = "none"
  }
}
