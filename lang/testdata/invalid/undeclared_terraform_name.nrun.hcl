terraform "platform" {
  dir = "./infra"
}

step "grow" {
  action "terraform_apply" {
    terraform = "plat" # ERROR: Reference to undeclared terraform block
  }
}
