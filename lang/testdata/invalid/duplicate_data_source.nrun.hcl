data "nomad_servers" "all" {}
data "nomad_servers" "all" {} # ERROR: Duplicate data source

output "leader" {
  value = data.nomad_servers.all.leader.name
}
