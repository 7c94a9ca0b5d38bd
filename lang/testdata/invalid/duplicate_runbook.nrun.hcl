runbook "one" {}
runbook "two" {} # ERROR: Duplicate runbook block
