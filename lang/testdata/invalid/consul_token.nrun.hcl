consul {
  address = "127.0.0.1:8500"
  token   = "s3cr3t" # ERROR: Token not allowed in runbook
}
