# New servers join and are proven voters; each old server stops and leaves
# Raft one at a time; only then is the old fleet destroyed.

data "nomad_servers" "blue" {}

terraform "fleet" {
  dir = "./infra"
}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "green" {
  depends_on = [step.snapshot]
  action "terraform_apply" {
    terraform = terraform.fleet
    creates = {
      nomad_servers = 3
    }
  }
  wait "servers_healthy" {
    count   = 6
    timeout = "10m"
  }
}

step "blue_retire" {
  for_each     = data.nomad_servers.blue.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.green]
  precondition "quorum_ok" {}

  step "stop" {
    action "exec" {
      command = ["ssh", each.value.host, "sudo", "systemctl", "stop", "nomad"]
      effect  = "stop"
    }
  }
  step "remove" {
    depends_on = [step.stop]
    action "nomad_raft_remove_peer" {}
    wait "raft_peer_absent" {
      timeout = "2m"
    }
  }
}

step "blue_destroy" {
  depends_on = [step.blue_retire]
  action "terraform_apply" {
    terraform = terraform.fleet
    destroys  = data.nomad_servers.blue.by_name
  }
}
