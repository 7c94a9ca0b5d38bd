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

func TestBackendPolicy(t *testing.T) {
	tests := map[string]struct {
		kind string
		api  lang.API
		want []string
	}{
		"consul": {"consul", lang.APIConsul, []string{"key_prefix \"nrun/x/\" {\n  policy = \"write\"\n}", "session_prefix \"\" {\n  policy = \"write\"\n}"}},
		"nomad":  {"nomad", lang.APINomad, []string{"namespace \"default\" {\n  variables {\n    path \"nrun/x/*\" {\n      capabilities = [\"read\", \"list\", \"write\", \"destroy\"]\n    }\n  }\n}"}},
		"local":  {"local", "", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := Build(BackendNeeds(tc.kind, "nrun/x"), "default")
			if tc.want == nil {
				if len(p.APIs) != 0 {
					t.Fatalf("the local backend needs nothing, got %+v", p.APIs)
				}
				return
			}
			if len(p.APIs) != 1 || p.APIs[0].API != tc.api {
				t.Fatalf("apis %+v", p.APIs)
			}
			for _, w := range tc.want {
				if !strings.Contains(p.APIs[0].HCL, w) {
					t.Errorf("policy lacks\n%s\nin\n%s", w, p.APIs[0].HCL)
				}
			}
			if !strings.Contains(p.APIs[0].HCL, "# ") || strings.Contains(p.APIs[0].HCL, "# :") {
				t.Errorf("the rules' comments do not name the backend:\n%s", p.APIs[0].HCL)
			}
		})
	}
}
