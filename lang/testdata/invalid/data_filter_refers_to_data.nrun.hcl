data "nomad_servers" "all" {}

data "nomad_nodes" "same_dc" {
  datacenter = data.nomad_servers.all.leader.name # ERROR: Reference not allowed here
}

output "names" {
  value = data.nomad_nodes.same_dc.names
}
