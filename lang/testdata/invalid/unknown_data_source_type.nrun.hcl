data "nomad_server" "all" {} # ERROR: Unknown data source type
