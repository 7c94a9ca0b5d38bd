# terraform destroys one live server without checking quorum first.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

terraform "infra" {
  dir = "./infra"
}

step "shrink" { # NR-S001
  depends_on = [step.snapshot]
  action "terraform_apply" {
    terraform = terraform.infra
    destroys  = [data.nomad_servers.all.by_name["s3"]]
  }
}
