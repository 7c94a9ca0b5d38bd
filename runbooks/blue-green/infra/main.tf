# The blue and green Nomad fleets of blue-green-image-migration.nrun.hcl,
# and their Consul servers.
#
# Each member is a terraform_data resource whose create and destroy
# provisioners add or remove a real agent of the local sandbox, so the
# configuration needs no provider and runs offline. On real infrastructure
# these would be instance groups built from the blue and green images; the
# runbook drives both the same way, through the four counts.

terraform {
  required_version = ">= 1.5"
}

variable "blue_server_count" {
  type    = number
  default = 3
}

variable "blue_client_count" {
  type    = number
  default = 2
}

variable "green_server_count" {
  type    = number
  default = 0
}

variable "green_client_count" {
  type    = number
  default = 0
}

variable "blue_consul_count" {
  type    = number
  default = 0
}

variable "green_consul_count" {
  type    = number
  default = 0
}

variable "consul_version" {
  type        = string
  default     = "1.21.0"
  description = "The Consul version of the green Consul servers."
}

variable "blue_version" {
  type        = string
  default     = "1.9.4"
  description = "The Nomad version of the blue image."
}

variable "green_version" {
  type        = string
  default     = "1.10.0"
  description = "The Nomad version of the green image."
}

variable "sandbox_consul_agents" {
  type        = bool
  default     = false
  description = "Give every sandbox member its own Consul client agent, as on a real host (needs Consul servers in the sandbox)."
}

variable "nrun" {
  type        = string
  default     = "nrun"
  description = "The nrun binary that manages the sandbox."
}

locals {
  sandbox   = "${path.module}/sandbox.sh"
  add_flags = var.sandbox_consul_agents ? " -consul-agent" : ""
  fleets = {
    blue  = { servers = var.blue_server_count, clients = var.blue_client_count, version = var.blue_version }
    green = { servers = var.green_server_count, clients = var.green_client_count, version = var.green_version }
  }
}

# Destroy-time provisioners may only use self, so every value they need is
# kept in input. Terraform runs the provisioners of different resources
# concurrently; every `nrun sandbox` command that changes the sandbox holds
# its lock, so they take turns. sandbox.sh makes add and remove idempotent.

resource "terraform_data" "blue_server" {
  count = local.fleets.blue.servers
  input = { name = "blue-server-${count.index + 1}", version = local.fleets.blue.version, nrun = var.nrun, sandbox = local.sandbox }

  provisioner "local-exec" {
    command = "${self.input.sandbox} ${self.input.nrun} server add ${self.input.name} -version ${self.input.version}${local.add_flags}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.sandbox} ${self.input.nrun} server remove ${self.input.name}"
  }
}

resource "terraform_data" "blue_client" {
  count = local.fleets.blue.clients
  input = { name = "blue-client-${count.index + 1}", version = local.fleets.blue.version, nrun = var.nrun, sandbox = local.sandbox }

  provisioner "local-exec" {
    command = "${self.input.sandbox} ${self.input.nrun} client add ${self.input.name} -version ${self.input.version}${local.add_flags}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.sandbox} ${self.input.nrun} client remove ${self.input.name}"
  }
}

resource "terraform_data" "green_server" {
  count = local.fleets.green.servers
  input = { name = "green-server-${count.index + 1}", version = local.fleets.green.version, nrun = var.nrun, sandbox = local.sandbox }

  provisioner "local-exec" {
    command = "${self.input.sandbox} ${self.input.nrun} server add ${self.input.name} -version ${self.input.version}${local.add_flags}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.sandbox} ${self.input.nrun} server remove ${self.input.name}"
  }
}

resource "terraform_data" "green_client" {
  count = local.fleets.green.clients
  input = { name = "green-client-${count.index + 1}", version = local.fleets.green.version, nrun = var.nrun, sandbox = local.sandbox }

  provisioner "local-exec" {
    command = "${self.input.sandbox} ${self.input.nrun} client add ${self.input.name} -version ${self.input.version}${local.add_flags}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.sandbox} ${self.input.nrun} client remove ${self.input.name}"
  }
}

# The Consul servers: `consul remove` is a graceful leave. The runbook has
# each blue one leave before the destroy, which then finds it gone.
resource "terraform_data" "blue_consul" {
  count = var.blue_consul_count
  input = { name = "blue-consul-${count.index + 1}", version = var.consul_version, nrun = var.nrun, sandbox = local.sandbox }

  provisioner "local-exec" {
    command = "${self.input.sandbox} ${self.input.nrun} consul add ${self.input.name} -version ${self.input.version}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.sandbox} ${self.input.nrun} consul remove ${self.input.name}"
  }
}

resource "terraform_data" "green_consul" {
  count = var.green_consul_count
  input = { name = "green-consul-${count.index + 1}", version = var.consul_version, nrun = var.nrun, sandbox = local.sandbox }

  provisioner "local-exec" {
    command = "${self.input.sandbox} ${self.input.nrun} consul add ${self.input.name} -version ${self.input.version}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "${self.input.sandbox} ${self.input.nrun} consul remove ${self.input.name}"
  }
}

output "green_consul_names" {
  value = terraform_data.green_consul[*].input.name
}

output "green_server_names" {
  value = terraform_data.green_server[*].input.name
}

output "green_client_names" {
  value = terraform_data.green_client[*].input.name
}
