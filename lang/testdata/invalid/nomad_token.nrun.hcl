nomad {
  address = "http://127.0.0.1:4646"
  token   = "s3cr3t" # ERROR: Token not allowed in runbook
}
