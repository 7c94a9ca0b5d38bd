step "many" {
  for_each = 3 # ERROR: Invalid for_each argument
  action "exec" {
    command = ["echo", each.key]
    effect  = "none"
  }
}
