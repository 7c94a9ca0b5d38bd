variable "effect" {
  type    = string
  default = "none"
}

step "hello" {
  action "exec" {
    command = ["echo", "hello", var.effect]
    effect  = var.effect # ERROR: Variables not allowed
  }
}
