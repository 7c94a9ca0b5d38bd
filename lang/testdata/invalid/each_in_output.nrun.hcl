output "key" {
  value = each.key # ERROR: Reference to "each" in context without for_each
}
