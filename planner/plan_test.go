package planner

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// loadInventory reads testdata/inventory/NAME.json at the repository root.
func loadInventory(t testing.TB, name string) *cview.View {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "inventory", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var v cview.View
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// plan loads a runbook (path relative to the repository root or to
// planner/), reads its variables files and resolves it against an
// inventory.
func plan(t testing.TB, path string, varFiles []string, vars []string, inventory string) (*Plan, hcl.Diagnostics) {
	t.Helper()
	rb, diags := lang.Load(path)
	if diags.HasErrors() {
		t.Fatalf("load %s: %s", path, diags.Error())
	}
	inputs, d := lang.InputValues(rb, vars, varFiles)
	if d.HasErrors() {
		t.Fatalf("inputs: %s", d.Error())
	}
	return Resolve(rb, inputs, loadInventory(t, inventory), ResolveOptions{})
}

func TestResolveSmoke(t *testing.T) {
	p, diags := plan(t, "../runbooks/nomad-server-rolling-upgrade.nrun.hcl", []string{"../runbooks/sandbox.nrunvars.hcl"}, nil, "healthy")
	for _, d := range diags {
		t.Log(d)
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	t.Log(string(b))
	_ = cty.NilVal
}
