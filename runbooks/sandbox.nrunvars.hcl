# Variables for nomad-server-rolling-upgrade.nrun.hcl against the local
# sandbox (nrun sandbox up starts Nomad 1.9.4 servers s1, s2, s3).
new_version = "1.10.0"
mode        = "sandbox"
