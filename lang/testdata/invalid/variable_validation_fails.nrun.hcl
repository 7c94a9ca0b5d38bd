variable "new_version" {
  type    = string
  default = "latest" # ERROR: Invalid value for variable
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.new_version))
    error_message = "new_version must be a semantic version such as 1.10.0."
  }
}

output "v" {
  value = var.new_version
}
