output "x" {
  value = 1
}

output "x" { # ERROR: Duplicate output
  value = 2
}
