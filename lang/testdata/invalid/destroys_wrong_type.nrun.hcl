terraform "platform" {
  dir = "./infra"
}

step "shrink" {
  action "terraform_apply" {
    terraform = terraform.platform
    destroys  = 3 # ERROR: Invalid argument value
  }
}
