# Adding servers and waiting for them is safe.

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
