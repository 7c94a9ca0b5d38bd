# A snapshot was taken out of band; the waiver says so, and is used.
data "nomad_servers" "all" {}

step "restart" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 1
  precondition "quorum_ok" {}
  allow_unsafe {
    rules  = ["NR-S004"]
    reason = "the nightly snapshot job ran minutes ago"
  }
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "5m"
  }
}
