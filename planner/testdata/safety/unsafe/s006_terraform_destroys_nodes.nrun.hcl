# terraform removes the client nodes without any drain.

data "nomad_nodes" "old" {
  node_pool = "old"
}

terraform "fleet" {
  dir = "./infra"
}

step "shrink" { # NR-S006
  action "terraform_apply" {
    terraform = terraform.fleet
    destroys  = data.nomad_nodes.old.by_name
  }
}
