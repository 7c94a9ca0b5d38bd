# The same mistake through terraform.

data "consul_servers" "all" {}

step "snapshot" {
  action "consul_snapshot_save" {
    path = "consul.snap"
  }
}

terraform "consul" {
  dir = "./consul"
}

step "maint" {
  depends_on = [step.snapshot]
  target     = data.consul_servers.all.by_name["c3"]
  action "consul_maintenance" {
    reason = "retiring"
  }
}

step "destroy" { # NR-S008
  depends_on = [step.maint]
  precondition "quorum_ok" { cluster = "consul" }
  action "terraform_apply" {
    terraform = terraform.consul
    destroys  = [data.consul_servers.all.by_name["c3"]]
  }
}
