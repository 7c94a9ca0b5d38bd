output "nothing" { # ERROR: Missing required argument
  description = "forgot the value"
}
