runbook "too_many" {
  max_instances = 3
}
locals {
  hosts = toset(["a", "b", "c", "d"])
}
step "ping" {
  for_each = local.hosts # ERROR: Too many instances
  action "exec" {
    command = ["ping", "-c1", each.value]
    effect  = "none"
  }
}
