# The first step stops a server and leaves it down without removing it from
# Raft; the rolling restart after it then has two voters down.

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "stop_one" {
  depends_on = [step.snapshot]
  target     = data.nomad_servers.all.by_name["s3"]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", "s3", "sudo", "systemctl", "stop", "nomad"]
    effect  = "stop"
  }
}

step "restart" { # NR-S002
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.stop_one]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
