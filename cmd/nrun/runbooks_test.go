package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrun-dev/nrun/views"
)

// runbookVarFiles are the variable files an example is also checked with.
var runbookVarFiles = map[string][]string{
	"nomad-server-rolling-upgrade.nrun.hcl":  {"sandbox.nrunvars.hcl", "production.nrunvars.hcl.example"},
	"consul-server-rolling-upgrade.nrun.hcl": {"consul-sandbox.nrunvars.hcl"},
	"nomad-server-rollback.nrun.hcl":         {"sandbox.nrunvars.hcl", "production.nrunvars.hcl.example"},
}

// TestRunbooks checks every example in runbooks/ the way `nrun validate`
// and `nrun graph` do, so the examples cannot rot: no diagnostic at all
// (not even a warning), alone and with each of its variable files, and a
// step graph equal to testdata/runbooks/NAME.dot (regenerate with
// `go test ./cmd/nrun -run TestRunbooks -update`, then read the diff).
func TestRunbooks(t *testing.T) {
	dir := filepath.Join("..", "..", "runbooks")
	files, err := filepath.Glob(filepath.Join(dir, "*.nrun.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d runbooks in %s, want the 4 examples at least", len(files), dir)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			runs := [][]string{nil}
			for _, vf := range runbookVarFiles[name] {
				runs = append(runs, []string{filepath.Join(dir, vf)})
			}
			var dot string
			for _, varFiles := range runs {
				c := checkRunbook(nil, f, nil, varFiles)
				if len(c.Diags) > 0 {
					var buf bytes.Buffer
					views.Diagnostics(&buf, c.Diags, c.Files, views.DiagnosticsOptions{Width: views.DiagnosticWidth})
					t.Fatalf("with var files %q:\n%s", varFiles, buf.String())
				}
				if c.Graph == nil {
					t.Fatalf("with var files %q: no graph", varFiles)
				}
				if d := c.Graph.DOT(); dot == "" {
					dot = d
				} else if d != dot {
					t.Fatalf("the graph changed with var files %q; variables must not change the step graph", varFiles)
				}
			}
			golden := filepath.Join("testdata", "runbooks", strings.TrimSuffix(name, ".nrun.hcl")+".dot")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(dot), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if dot != string(want) {
				t.Errorf("graph differs from %s (run with -update if intended):\n%s", golden, dot)
			}
		})
	}
}
