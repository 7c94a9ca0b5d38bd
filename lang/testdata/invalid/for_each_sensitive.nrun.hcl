variable "passwords" {
  type      = map(string)
  sensitive = true
  default   = { hunter2 = "x" }
}

locals {
  by_pw = { for k, v in var.passwords : k => v }
}

step "direct" {
  for_each = var.passwords # ERROR: Invalid for_each argument
  action "sleep" {
    duration = "1s"
  }
}

step "via_local" {
  for_each = local.by_pw # ERROR: Invalid for_each argument
  action "sleep" {
    duration = "1s"
  }
}
