# A snapshot step exists, but nothing makes the restart wait for it.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restart" { # NR-S004
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 1
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
