variable "new_version" {
  type    = string
  default = "1.10.2"
  validation {
    condition     = strlen(var.new_version) > 0
    error_message = "" # ERROR: Empty validation error_message
  }
  validation {
    condition     = strlen(var.new_version) < 20
    error_message = "   " # ERROR: Empty validation error_message
  }
}

step "s" {
  action "approval" {
    message = "upgrade to ${var.new_version}?"
  }
}
