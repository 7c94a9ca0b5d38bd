package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/planfile"
)

// FuzzPlanFile: no plan file, however damaged, may panic nrun apply while
// it is loaded, validated and compared (a null instance used to). Each
// input is tried as it is (the header checks) and sealed with a valid
// header (the payload checks, which a checksum would otherwise hide from
// the fuzzer).
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
		f.Add(planfile.Seal(b))
	}
	f.Add([]byte(`{"format_version":"1","instances":[null]}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, file := range [][]byte{b, planfile.Seal(b)} {
			p, err := planfile.Decode(file)
			if err != nil {
				continue
			}
			for _, in := range p.Instances {
				if in == nil {
					t.Fatal("a null instance passed validation")
				}
			}
			executor.PlanStructure(p)
			_ = p.Runbook.Paths
		}
	})
}
