stepp "snapshot" { # ERROR: Unsupported block type
}
