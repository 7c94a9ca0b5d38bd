variable "upstream" {
  type = list(string)
}

resource "terraform_data" "wiring" {
  input = var.upstream
}
