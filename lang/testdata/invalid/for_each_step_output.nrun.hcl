step "list" {
  action "exec" {
    command = ["nomad", "node", "status"]
    effect  = "none"
  }
}

step "each_line" {
  for_each = toset(split("\n", step.list.output)) # ERROR: Reference not allowed here
  action "exec" {
    command = ["echo", each.key]
    effect  = "none"
  }
}
