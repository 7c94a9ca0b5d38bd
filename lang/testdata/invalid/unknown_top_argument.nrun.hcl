description = "top-level arguments are not allowed" # ERROR: Unsupported argument
