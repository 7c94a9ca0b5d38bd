package lang

import "testing"

func TestDecodeBackend(t *testing.T) {
	rb := mustParse(t, `
backend "nomad" {
  path = "/nrun/nomad-server-rolling-upgrade/"
}
`)
	if rb.Backend == nil || rb.Backend.Type != "nomad" || rb.Backend.Path != "nrun/nomad-server-rolling-upgrade" {
		t.Fatalf("backend = %+v", rb.Backend)
	}
	if rb := mustParse(t, `backend "consul" {}`); rb.Backend == nil || rb.Backend.Path != "" {
		t.Fatalf("backend without path = %+v", rb.Backend)
	}

	tests := map[string]struct {
		src, summary string
		line         int
	}{
		"unknown type":  {"backend \"s3\" {}", "Unknown backend", 1},
		"bad path":      {"backend \"consul\" {\n  path = \"a b.c\"\n}", "Invalid backend path", 2},
		"local path":    {"backend \"local\" {\n  path = \"x\"\n}", "Path on the local backend", 2},
		"typo":          {"backend \"nomad\" {\n  paht = \"x\"\n}", "Unsupported argument", 2},
		"not a literal": {"variable \"p\" {}\nbackend \"nomad\" {\n  path = var.p\n}", "", 3},
		"duplicate":     {"backend \"nomad\" {}\nbackend \"consul\" {}", "", 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := Parse(map[string][]byte{"x.nrun.hcl": []byte(tc.src)})
			if !diags.HasErrors() {
				t.Fatalf("no error")
			}
			d := diags[0]
			if tc.summary != "" && d.Summary != tc.summary {
				t.Errorf("summary %q, want %q (%v)", d.Summary, tc.summary, diags)
			}
			if d.Subject == nil || d.Subject.Start.Line != tc.line {
				t.Errorf("diagnostic at %v, want line %d (%v)", d.Subject, tc.line, diags)
			}
		})
	}
}
