locals {
  user = "ops"
}

locals {
  user = "root" # ERROR: Duplicate local value
}

output "user" {
  value = local.user
}
