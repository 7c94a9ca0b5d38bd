data "nomad_servers" "all" {}

step "outer" {
  step "inner" {
    for_each = data.nomad_servers.all.by_name # ERROR: Argument not allowed on an inner step
    action "exec" {
      command = ["true"]
      effect  = "none"
    }
  }
}
