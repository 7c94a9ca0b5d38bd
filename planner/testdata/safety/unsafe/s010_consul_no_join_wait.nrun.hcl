# The green Consul servers are created, but nothing proves they joined before the
# blue ones leave.

data "consul_servers" "blue" {}

terraform "fleet" {
  dir = "./infra"
}

step "snapshot" {
  action "consul_snapshot_save" {
    path = "pre.snap"
  }
}

step "green" {
  depends_on = [step.snapshot]
  action "terraform_apply" {
    terraform = terraform.fleet
    creates = {
      consul_servers = 3
    }
  }
}

step "blue_retire" {
  for_each     = data.consul_servers.blue.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.green]
  precondition "quorum_ok" {}

  step "stop" { # NR-S010
    action "exec" {
      command = ["ssh", each.value.host, "sudo", "systemctl", "stop", "consul"]
      effect  = "stop"
    }
  }
  step "remove" {
    depends_on = [step.stop]
    action "consul_raft_remove_peer" {}
    wait "raft_peer_absent" {
      timeout = "2m"
    }
  }
}
