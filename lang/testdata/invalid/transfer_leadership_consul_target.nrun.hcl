# A Nomad leadership transfer on a step whose target is a Consul server.

data "consul_servers" "all" {}

step "transfer" {
  target = data.consul_servers.all.leader
  action "nomad_raft_transfer_leadership" {} # ERROR: Incompatible target
}
