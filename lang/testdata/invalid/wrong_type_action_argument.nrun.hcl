step "ineligible" {
  action "nomad_node_eligibility" {
    node     = "client-1"
    eligible = "not today" # ERROR: Incorrect attribute value type
  }
}
