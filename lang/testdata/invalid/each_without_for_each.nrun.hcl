step "hello" {
  action "exec" {
    command = ["echo", each.key] # ERROR: Reference to "each" in context without for_each
    effect  = "none"
  }
}
