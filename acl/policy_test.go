package acl

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrun-dev/nrun/lang"
)

func load(t *testing.T, path string) *lang.Runbook {
	t.Helper()
	rb, diags := lang.Load(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return rb
}

func TestPolicyDrainNodePool(t *testing.T) {
	p := PolicyOf(load(t, filepath.Join("..", "runbooks", "drain-node-pool.nrun.hcl")))
	if len(p.APIs) != 1 || p.APIs[0].API != lang.APINomad {
		t.Fatalf("APIs = %+v, want Nomad alone", p.APIs)
	}
	got := p.APIs[0].HCL
	for _, want := range []string{
		"# write: step.ineligible, step.drain\n# read: cluster read, data.nomad_nodes.pool, step.ineligible, step.drain\nnode {\n  policy = \"write\"\n}\n",
		"operator {\n  policy = \"read\"\n}\n",
		"namespace \"*\" {\n  capabilities = [\"read-job\"]\n}\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("policy lacks\n%s\ngot:\n%s", want, got)
		}
	}
	if len(p.APIs[0].Management) != 0 {
		t.Errorf("management: %+v", p.APIs[0].Management)
	}
}

// TestPolicyRunbooks: every catalog rule the examples use has a known form.
func TestPolicyRunbooks(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "runbooks", "*.nrun.hcl"))
	for _, f := range files {
		p := PolicyOf(load(t, f))
		for _, ap := range p.APIs {
			for _, r := range ap.Rules {
				if r.Policy == "" && len(r.Capabilities) == 0 {
					t.Errorf("%s: %s rule %s grants nothing (catalog rule of an unknown form?)", f, ap.API, r.Resource)
				}
			}
		}
	}
}
