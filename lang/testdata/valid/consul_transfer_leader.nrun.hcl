# Move Consul leadership off each server before restarting it, and
# explicitly once to a named server.
data "consul_servers" "all" {}

step "snapshot" {
  action "consul_snapshot_save" {
    path = "consul.snap"
  }
}

step "off_leader" {
  depends_on = [step.snapshot]
  target     = data.consul_servers.all.leader
  action "consul_raft_transfer_leader" {}
}

step "to_named" {
  depends_on = [step.off_leader]
  action "consul_raft_transfer_leader" {
    server = data.consul_servers.all.leader
    to     = "consul-2"
  }
}

step "anyone" {
  depends_on = [step.to_named]
  action "consul_raft_transfer_leader" {}
}
