package lang

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes through Parse and Validate. Neither may
// panic. Seeds are every runbook in ../runbooks and the test corpus.
func FuzzParse(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{"../runbooks/*.hcl", "../runbooks/*/*.hcl", "testdata/valid/*.hcl", "testdata/invalid/*.hcl"} {
		m, _ := filepath.Glob(pattern)
		seeds = append(seeds, m...)
	}
	for _, s := range seeds {
		src, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		rb, _ := Parse(map[string][]byte{"fuzz.nrun.hcl": src})
		Validate(rb, nil)
		if rb != nil {
			// The accessors must cope with whatever Parse produced.
			for _, s := range rb.AllSteps() {
				rb.Step(s.Addr)
				s.EffectiveTarget()
				s.Expressions()
			}
		}
	})
}
