# Remove a dead Consul server by name and check the peer set.
variable "dead" {
  type = string
}

step "force_leave" {
  target = var.dead
  precondition "quorum_ok" {
    cluster = "consul"
  }
  action "consul_force_leave" {
    prune = true
  }
}

step "remove_peer" {
  depends_on = [step.force_leave]
  action "consul_raft_remove_peer" {
    server = var.dead
  }
  wait "servers_healthy" {
    cluster = "consul"
    timeout = "5m"
  }
}

step "transfer" {
  depends_on = [step.remove_peer]
  action "nomad_raft_transfer_leadership" {}
}
