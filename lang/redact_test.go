package lang

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// hcl's diagnostic printer shows the values an expression refers to
// ("with var.pw as ..."). Validate must not hand it a sensitive one, even
// through a local or inside nonsensitive(), and must keep showing the
// others.
func TestValidateDiagnosticsHideSensitiveValues(t *testing.T) {
	const src = `
variable "pw" {
  type      = string
  sensitive = true
  default   = "hunter2-secret"
}
variable "user" {
  type    = string
  default = "ops-visible"
}
locals {
  derived = "x-${var.pw}"
}
step "a" {
  action "exec" {
    command = ["echo", upper(var.pw) + 1]
    effect  = "none"
  }
}
step "b" {
  action "exec" {
    command = ["echo", local.derived + 1]
    effect  = "none"
  }
}
step "c" {
  action "exec" {
    command = ["echo", nonsensitive(var.pw) + 1]
    effect  = "none"
  }
}
step "d" {
  action "exec" {
    command = ["echo", var.user + 1]
    effect  = "none"
  }
}
`
	rb, diags := Parse(map[string][]byte{"r.nrun.hcl": []byte(src)})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	diags = Validate(rb, nil)
	if len(diags) < 4 {
		t.Fatalf("want an error per step, got %s", diags.Error())
	}
	var buf bytes.Buffer
	files := map[string]*hcl.File{}
	for n, f := range rb.Files {
		files[n] = f
	}
	w := hcl.NewDiagnosticTextWriter(&buf, files, 100, false)
	if err := w.WriteDiagnostics(diags); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "hunter2") {
		t.Errorf("a diagnostic shows the sensitive value:\n%s", out)
	}
	if !strings.Contains(out, `var.user as "ops-visible"`) {
		t.Errorf("a non-sensitive value is no longer shown:\n%s", out)
	}
}
