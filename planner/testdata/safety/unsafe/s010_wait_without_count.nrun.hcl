# servers_healthy without count passes before the new servers are voters.

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
    timeout = "10m"
  }
}

step "blue_retire" {
  for_each     = data.nomad_servers.blue.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.green]
  precondition "quorum_ok" {}

  step "stop" { # NR-S010
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
