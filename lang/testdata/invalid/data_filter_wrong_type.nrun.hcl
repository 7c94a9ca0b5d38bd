data "nomad_nodes" "tagged" {
  meta = "rack=a" # ERROR: Incorrect attribute value type
}

output "names" {
  value = data.nomad_nodes.tagged.names
}
