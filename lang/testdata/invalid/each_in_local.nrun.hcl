locals {
  host = each.value.host # ERROR: Reference to "each" in context without for_each
}

output "host" {
  value = local.host
}
