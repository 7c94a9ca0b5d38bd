runbook "outputs" {}
variable "pw" {
  type      = string
  sensitive = true
}
locals {
  dsn = "postgres://app:${var.pw}@db"
}
step "login" {
  action "exec" {
    command = ["login", var.pw]
    effect  = "none"
  }
}
output "pw" {
  value = var.pw # ERROR: Output refers to sensitive values
}
output "dsn" {
  value = upper(local.dsn) # ERROR: Output refers to sensitive values
}
output "pw_hidden" {
  value     = var.pw
  sensitive = true
}
output "length" {
  value = nonsensitive(strlen(var.pw))
}
