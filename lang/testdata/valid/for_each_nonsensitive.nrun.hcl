variable "passwords" {
  type      = map(string)
  sensitive = true
  default   = { s1 = "hunter2" }
}

# The keys name servers and are not secret; the values stay hidden.
step "rotate" {
  for_each = nonsensitive(toset(keys(var.passwords)))
  action "sleep" {
    duration = "1s"
  }
}
