# terraform destroys client nodes given by name, without a drain. Offline
# the names could be anything (validate says they are decided at plan); at
# plan they resolve to the clients c1 and c2, which were not drained.
# inventory: healthy
# var: old_clients=["c1","c2"]

variable "old_clients" {
  type = list(string)
}

terraform "fleet" {
  dir = "./infra"
}

step "shrink" { # NR-S006
  action "terraform_apply" {
    terraform = terraform.fleet
    destroys  = var.old_clients
  }
}
