# terraform destroys one Nomad server, guarded; the summary counts it.

data "nomad_servers" "all" {}

terraform "infra" {
  dir = "./infra"
}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "shrink" {
  depends_on = [step.snapshot]
  precondition "quorum_ok" {}
  action "terraform_apply" {
    terraform = terraform.infra
    destroys  = [data.nomad_servers.all.by_name["s3.global"]]
  }
}
