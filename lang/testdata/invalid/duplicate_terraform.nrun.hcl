terraform "platform" {
  dir = "./a"
}

terraform "platform" { # ERROR: Duplicate terraform block
  dir = "./b"
}
