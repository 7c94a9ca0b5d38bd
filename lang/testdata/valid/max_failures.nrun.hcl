data "nomad_nodes" "all" {}

step "restart_clients" {
  for_each     = data.nomad_nodes.all.by_name
  max_parallel = 2
  max_failures = "25%"
  target       = each.value
  action "exec" {
    command = ["ssh", each.value.host, "sudo systemctl restart nomad"]
    effect  = "restart"
  }
}

step "count" {
  for_each     = toset(["a", "b", "c"])
  max_failures = 1
  on_failure   = "pause"
  action "exec" {
    command = ["echo", each.key]
    effect  = "none"
  }
}

step "string_count" {
  for_each     = toset(["a", "b"])
  max_failures = "0"
  action "exec" {
    command = ["echo", each.key]
    effect  = "none"
  }
}
