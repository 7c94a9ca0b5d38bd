step "many" {
  for_each = ["a", "b"] # ERROR: Invalid for_each argument
  action "exec" {
    command = ["echo", each.key]
    effect  = "none"
  }
}
