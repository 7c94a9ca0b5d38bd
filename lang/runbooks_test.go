package lang

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestRunbooks parses and validates every example runbook in ../runbooks
// (a file, or a directory of files), so the examples cannot rot. Warnings
// are allowed; errors are not.
func TestRunbooks(t *testing.T) {
	entries, err := os.ReadDir("../runbooks")
	if err != nil {
		// The examples ship with the module: a missing directory is a
		// broken checkout, not a reason to pass.
		t.Fatalf("cannot read the example runbooks: %v", err)
	}
	checked := 0
	defer func() {
		if checked == 0 {
			t.Error("no runbook in ../runbooks was checked")
		}
	}()
	for _, e := range entries {
		path := filepath.Join("../runbooks", e.Name())
		if !e.IsDir() && !strings.HasSuffix(e.Name(), FileSuffix) {
			continue
		}
		if e.IsDir() {
			if m, _ := filepath.Glob(filepath.Join(path, "*"+FileSuffix)); len(m) == 0 {
				continue
			}
		}
		checked++
		t.Run(e.Name(), func(t *testing.T) {
			rb, diags := Load(path)
			diags = append(diags, Validate(rb, nil)...)
			for _, d := range diags {
				if d.Severity == hcl.DiagError {
					t.Errorf("%s", diagString(d))
				}
			}
		})
	}
}

func diagString(d *hcl.Diagnostic) string {
	s := d.Summary + ": " + d.Detail
	if d.Subject != nil {
		s = d.Subject.String() + ": " + s
	}
	return s
}
