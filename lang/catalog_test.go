package lang

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCatalogFacts holds every catalog entry to the facts the planner,
// executor and views read from it.
func TestCatalogFacts(t *testing.T) {
	for name, s := range ActionSpecs {
		if s.Name != name || s.Doc == "" || s.Probe == "" {
			t.Errorf("action %q: name %q, doc %q, probe %q: all must be set", name, s.Name, s.Doc, s.Probe)
		}
		if s.Cluster != ClusterNone && len(s.Reads)+len(s.Writes) == 0 {
			t.Errorf("action %q acts on %s but declares no ACL capability", name, s.Cluster)
		}
		if (s.Probe == ProbeRepeat) != (s.RepeatSafe != "") {
			t.Errorf("action %q: probe %q, RepeatSafe %q: an action probed by repeating it says why that is harmless, and only such an action", name, s.Probe, s.RepeatSafe)
		}
		for _, e := range append([]Effect{s.Effect}, DeclarableEffects...) {
			if _, ok := effectGlyphs[e]; !ok {
				t.Errorf("action %q: effect %q has no glyph in effectGlyphs", name, e)
			}
		}
		if s.Target != TargetNone && !s.Accepts(s.Target) {
			t.Errorf("action %q: its target kind %s is not among its step targets %v", name, s.Target, s.Targets)
		}
	}
	for name, s := range CheckSpecs {
		if s.Name != name || s.Doc == "" || s.Wait.Kind == "" || s.Wait.Interval <= 0 {
			t.Errorf("check %q: name %q, doc %q, wait %+v: all must be set", name, s.Name, s.Doc, s.Wait)
		}
		if s.Cluster.Default != ClusterNone && len(s.Reads) == 0 {
			t.Errorf("check %q reads %s but declares no ACL capability", name, s.Cluster.Default)
		}
		if s.Cluster.Attr != "" && s.Attr(s.Cluster.Attr) == nil {
			t.Errorf("check %q: its cluster argument %q is not in its schema", name, s.Cluster.Attr)
		}
	}
}

// TestDataSourceClusters: every data source type says which cluster it
// reads.
func TestDataSourceClusters(t *testing.T) {
	for _, dt := range DataSourceTypes {
		if dt.Cluster() == ClusterNone {
			t.Errorf("data source %q has no cluster in dataClusters", dt)
		}
	}
}

// TestCatalogOneFilePerEntry keeps the catalog's layout: each entry in its
// own catalog_action_NAME.go or catalog_check_NAME.go.
func TestCatalogOneFilePerEntry(t *testing.T) {
	for kind, names := range map[string][]string{"action": ActionTypes(), "check": CheckNames()} {
		for _, n := range names {
			src, err := os.ReadFile(filepath.Join(".", "catalog_"+kind+"_"+n+".go"))
			if err != nil {
				t.Errorf("%s %q: %v", kind, n, err)
				continue
			}
			if !strings.Contains(string(src), `"`+n+`"`) {
				t.Errorf("catalog_%s_%s.go does not declare %q", kind, n, n)
			}
		}
	}
}
