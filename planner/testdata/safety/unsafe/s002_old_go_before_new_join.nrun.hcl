# The destroy of the old servers does not wait for the new ones at all.

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

step "blue_destroy" { # NR-S002 NR-S010
  depends_on = [step.snapshot]
  precondition "quorum_ok" {}
  action "terraform_apply" {
    terraform = terraform.fleet
    destroys  = data.nomad_servers.blue.by_name
  }
}
