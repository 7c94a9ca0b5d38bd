runbook "nul" {}
variable "dir" {
  type    = string
  default = "/tmp\u0000/x"
}
locals {
  flags = ["-v", "a\u0000b"]
}
step "run" {
  action "exec" {
    command = ["ls", "-la\u0000"] # ERROR: NUL byte in a string
    env     = { HOME = var.dir } # ERROR: NUL byte in a string
    check  = concat(["test"], local.flags) # ERROR: NUL byte in a string
    effect = "none"
  }
}
step "ask" {
  action "approval" {
    message = "go\u0000?" # ERROR: NUL byte in a string
  }
}
