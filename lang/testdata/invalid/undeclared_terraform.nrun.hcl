terraform "platform" {
  dir = "./infra"
}

step "grow" {
  action "terraform_apply" {
    terraform = terraform.platfrom # ERROR: Reference to undeclared terraform block
  }
}
