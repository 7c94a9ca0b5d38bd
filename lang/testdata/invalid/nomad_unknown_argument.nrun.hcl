nomad {
  adress = "http://127.0.0.1:4646" # ERROR: Unsupported argument
}
