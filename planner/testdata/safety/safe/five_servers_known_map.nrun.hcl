# A known map of five servers proves the cluster has five.
variable "servers" {
  type = map(string)
  default = {
    s1 = "10.0.0.1"
    s2 = "10.0.0.2"
    s3 = "10.0.0.3"
    s4 = "10.0.0.4"
    s5 = "10.0.0.5"
  }
}

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restart" {
  for_each     = var.servers
  max_parallel = 2
  depends_on   = [step.snapshot]
  target       = data.nomad_servers.all.by_name[each.key]
  precondition "quorum_ok" {}
  precondition "leader_not_target" {
    transfer = true
  }
  action "exec" {
    command = ["ssh", each.value, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
