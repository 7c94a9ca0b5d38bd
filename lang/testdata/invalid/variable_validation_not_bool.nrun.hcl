variable "port" {
  type    = number
  default = 4646
  validation {
    condition     = var.port # ERROR: Invalid validation condition
    error_message = "bad port"
  }
}

output "p" {
  value = var.port
}
