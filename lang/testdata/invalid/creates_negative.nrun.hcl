terraform "platform" {
  dir = "./infra"
}

step "grow" {
  action "terraform_apply" {
    terraform = terraform.platform
    creates   = { nomad_servers = -2 } # ERROR: Invalid argument value
  }
}
