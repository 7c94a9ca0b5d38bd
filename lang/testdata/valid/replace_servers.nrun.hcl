# Blue/green replacement of the Nomad servers through terraform.
terraform "green" {
  dir = "./infra/green"
}

terraform "blue" {
  dir = "./infra/blue"
}

data "nomad_servers" "blue" {
  name = "^blue-"
}

step "create_green" {
  action "terraform_apply" {
    terraform = terraform.green
    vars      = { count = 3, version = "1.10.0" }
    creates   = { nomad_servers = 3 }
  }
  wait "servers_healthy" {
    count   = 6
    timeout = "15m"
  }
}

step "remove_blue" {
  for_each     = data.nomad_servers.blue.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.create_green]

  allow_unsafe {
    rules  = ["NR-S004"]
    reason = "Green servers are healthy voters before any blue server leaves."
  }

  precondition "quorum_ok" {}
  precondition "raft_peer_present" {}

  step "remove_peer" {
    action "nomad_raft_remove_peer" {}
    wait "raft_peer_absent" {
      timeout = "2m"
    }
  }
  step "leave" {
    depends_on = [step.remove_peer]
    action "nomad_server_force_leave" {
      server = each.value.name
      prune  = true
    }
  }
}

step "destroy_blue" {
  depends_on = [step.remove_blue]
  action "terraform_apply" {
    terraform = "blue"
    destroys  = data.nomad_servers.blue.by_name
  }
}

output "green_dir" {
  value = terraform.green.dir
}
