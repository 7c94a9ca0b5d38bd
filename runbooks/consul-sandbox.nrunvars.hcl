# Variables for consul-server-rolling-upgrade.nrun.hcl against the local
# sandbox (nrun sandbox up -consul-version 1.20.6 starts Consul 1.20.6
# servers consul1, consul2, consul3).
consul_version = "1.21.0"
mode           = "sandbox"
