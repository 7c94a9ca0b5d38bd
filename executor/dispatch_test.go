package executor

import (
	"testing"

	"github.com/nrun-dev/nrun/lang"
)

// TestCatalogComplete holds the executor to the catalog: every action has
// exactly one implementation (implementAction panics on a second) and its
// probe strategy one implementation, and every implementation belongs to
// a catalog entry and every probe implementation to a strategy in use.
func TestCatalogComplete(t *testing.T) {
	entries := map[*lang.ActionSpec]bool{}
	used := map[lang.Probe]bool{}
	for _, name := range lang.ActionTypes() {
		spec := lang.ActionSpecs[name]
		entries[spec] = true
		used[spec.Probe] = true
		if actionImpls[spec] == nil {
			t.Errorf("action %q has no implementation; register one with implementAction", name)
		}
		if probeImpls[spec.Probe] == nil {
			t.Errorf("action %q: its probe %q has no implementation; register one with implementProbe", name, spec.Probe)
		}
	}
	for spec := range actionImpls {
		if !entries[spec] {
			t.Errorf("an implementation is registered against %q, which is not a catalog entry", spec.Name)
		}
	}
	for p := range probeImpls {
		if !used[p] {
			t.Errorf("probe %q is implemented but no catalog action uses it", p)
		}
	}
}
