data "nomad_nodes" "web" {
  name = "web-[0-9" # ERROR: Invalid regular expression
}

output "names" {
  value = data.nomad_nodes.web.names
}
