package planner

import (
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// TestResolveCorpus resolves every runbook fixture of lang and planner,
// valid or not, against several views (none, empty, healthy, one server,
// a node down): Resolve must never panic, always return a plan that
// marshals, and report errors as diagnostics.
func TestResolveCorpus(t *testing.T) {
	var paths []string
	for _, root := range []string{"../lang/testdata", "testdata", "../runbooks"} {
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".nrun.hcl") {
				paths = append(paths, path)
			}
			return nil
		})
	}
	t.Logf("%d fixtures", len(paths))
	if len(paths) < 50 {
		t.Fatalf("only %d fixtures found", len(paths))
	}
	views := map[string]*cview.View{
		"nil":       nil,
		"empty":     {},
		"healthy":   loadInventory(t, "healthy"),
		"single":    loadInventory(t, "single"),
		"node_down": loadInventory(t, "node_down"),
	}
	for _, path := range paths {
		rb, _ := lang.Load(path)
		if rb == nil {
			continue
		}
		inputs, _ := lang.InputValues(rb, nil, nil)
		for name, v := range views {
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s against %s: panic: %v", path, name, r)
					}
				}()
				p, _ := Resolve(rb, inputs, v, ResolveOptions{})
				if p == nil {
					t.Errorf("%s against %s: nil plan", path, name)
					return
				}
				if _, err := json.Marshal(p); err != nil {
					t.Errorf("%s against %s: %v", path, name, err)
				}
			}()
		}
	}
}
