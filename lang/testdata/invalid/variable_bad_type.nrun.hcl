variable "count" {
  type = integer # ERROR: Invalid type specification
}

output "count" {
  value = var.count
}
