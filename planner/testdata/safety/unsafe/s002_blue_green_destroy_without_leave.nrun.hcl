# The new servers joined, but the old ones are destroyed without leaving
# Raft: 3 of 6 voters down at once (nomad#4232).

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

step "blue_destroy" { # NR-S002
  depends_on = [step.green]
  precondition "quorum_ok" {}
  action "terraform_apply" {
    terraform = terraform.fleet
    destroys  = data.nomad_servers.blue.by_name
  }
}
