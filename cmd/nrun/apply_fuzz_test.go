package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nrun-dev/nrun/executor"
)

// FuzzPlanFile: no plan file, however damaged, may panic nrun apply while
// it is loaded, validated and compared (a null instance used to).
func FuzzPlanFile(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "..", "views", "testdata", "plan", "*.json"))
	if len(seeds) == 0 {
		f.Fatal("no seed plans in views/testdata/plan")
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"format_version":"1","instances":[null]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := loadPlanFile(b)
		if err != nil {
			return
		}
		for _, in := range p.Instances {
			if in == nil {
				t.Fatal("a null instance passed validation")
			}
		}
		executor.PlanStructure(p)
		_ = p.Runbook.Paths
	})
}
