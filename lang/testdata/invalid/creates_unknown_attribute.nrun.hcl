terraform "platform" {
  dir = "./infra"
}

step "grow" {
  action "terraform_apply" {
    terraform = terraform.platform
    creates   = { nomad_server = 3 } # ERROR: Invalid argument value
  }
}
