# A configuration with only built-in resources, so terraform init and plan
# run offline: the members of a fleet, and a resource and an output that
# hold a secret.

terraform {
  required_version = ">= 1.5"
}

variable "members" {
  type = number
}

variable "name" {
  type    = string
  default = "app"
}

variable "password" {
  type      = string
  sensitive = true
}

resource "terraform_data" "member" {
  count = var.members
  input = "${var.name}-${count.index + 1}"
}

resource "terraform_data" "credentials" {
  input = var.password
}

output "members" {
  value = terraform_data.member[*].output
}

output "password" {
  value     = var.password
  sensitive = true
}
