# A Consul maintenance round trip on every Consul server, for
# TestPolicyConsulLive.
runbook "consul-maint" {}

consul {}

data "consul_servers" "all" {}

step "maint" {
  for_each = data.consul_servers.all.by_name
  target   = each.value
  action "consul_maintenance" {
    enable = true
    reason = "nrun test"
  }
  wait "consul_maintenance" {
    timeout = "1m"
  }
}

step "back" {
  for_each   = data.consul_servers.all.by_name
  target     = each.value
  depends_on = [step.maint]
  action "consul_maintenance" {
    enable = false
  }
}
