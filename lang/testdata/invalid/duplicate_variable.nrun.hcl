variable "version" {
  type = string
}

variable "version" { # ERROR: Duplicate variable
  type = string
}

step "check" {
  precondition "servers_version" {
    version = var.version
  }
  action "approval" {
    message = "ok?"
  }
}
