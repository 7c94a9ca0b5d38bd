# A Consul leadership transfer on a step whose target is a Nomad server.

data "nomad_servers" "all" {}

step "transfer" {
  target = data.nomad_servers.all.leader
  action "consul_raft_transfer_leader" {} # ERROR: Incompatible target
}
