# Variables of several types, validation rules that pass, locals that build
# on each other, and functions.
variable "new_version" {
  type    = string
  default = "1.10.0"
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.new_version))
    error_message = "new_version must look like 1.10.0."
  }
}

variable "hosts" {
  type    = set(string)
  default = ["a", "b"]
}

variable "ports" {
  type    = map(number)
  default = { http = 4646, rpc = 4647 }
}

variable "dry_run" {
  type      = bool
  default   = false
  sensitive = true
}

variable "anything" {}

locals {
  user    = "ops"
  login   = "${local.user}@"
  major   = split(".", var.new_version)[0]
  summary = format("%s v%s on %d hosts", upper(local.user), var.new_version, length(var.hosts))
}

locals {
  flags = concat(["--quiet"], var.dry_run ? ["--dry-run"] : [])
  port  = try(var.ports["http"], 4646)
}

step "announce" {
  for_each = var.hosts
  action "exec" {
    command = concat(["echo", local.summary, "${local.login}${each.key}", tostring(local.port)], local.flags)
    env     = { MAJOR = local.major, ANY = jsonencode(var.anything) }
    effect  = "none"
  }
}

output "summary" {
  value     = local.summary
  sensitive = false
}
