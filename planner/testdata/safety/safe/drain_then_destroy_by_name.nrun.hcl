# Client nodes given by name are drained, seen drained, then destroyed by
# terraform. At plan the names resolve to clients and the drain covers them.
# inventory: healthy
# var: old_clients=["c1","c2"]

variable "old_clients" {
  type = list(string)
}

terraform "fleet" {
  dir = "./infra"
}

step "drain" {
  for_each     = toset(var.old_clients)
  max_parallel = 1
  action "nomad_node_drain" {
    node     = each.value
    deadline = "30m"
  }
  wait "node_drained" {
    timeout = "40m"
  }
}

step "shrink" {
  depends_on = [step.drain]
  action "terraform_apply" {
    terraform = terraform.fleet
    destroys  = var.old_clients
  }
}
