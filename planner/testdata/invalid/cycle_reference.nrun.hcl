# A cycle made only of implicit edges: each step uses the other's output.

step "token" {
  action "exec" {
    command = ["echo", step.address.output] # ERROR: Dependency cycle
    effect  = "none"
  }
}

step "address" {
  action "exec" {
    command = ["echo", "${step.token.output}"]
    effect  = "none"
  }
}
