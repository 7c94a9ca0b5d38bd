data "nomad_nodes" "blue" {
  nodepool = "blue" # ERROR: Unsupported argument
}

output "names" {
  value = data.nomad_nodes.blue.names
}
