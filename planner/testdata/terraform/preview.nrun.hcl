# Terraform plan summaries inside nrun plan (views/plan_terraform_test.go):
# step.up is planned now; step.wire's variables come from step.up's
# outputs and step.down applies ./infra again after step.up, so both are
# known only after apply.

runbook "terraform-preview" {
  description = "Scale a fleet up, wire it, scale it down."
}

variable "members" {
  type    = number
  default = 2
}

variable "db_password" {
  type      = string
  sensitive = true
}

terraform "app" {
  dir = "./infra"
}

terraform "other" {
  dir = "./other"
}

step "up" {
  action "terraform_apply" {
    terraform = terraform.app
    vars = {
      members  = var.members
      password = var.db_password
    }
  }
}

step "wire" {
  action "terraform_apply" {
    terraform = terraform.other
    vars = {
      upstream = step.up.output.members
    }
  }
}

step "down" {
  depends_on = [step.wire]
  action "terraform_apply" {
    terraform = terraform.app
    vars = {
      members  = 0
      password = var.db_password
    }
  }
}
