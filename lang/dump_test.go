package lang

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

func TestDumpDiags(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	files, _ := filepath.Glob("testdata/invalid/*" + FileSuffix)
	for _, f := range files {
		src, _ := os.ReadFile(f)
		rb, diags := Parse(map[string][]byte{f: src})
		diags = append(diags, Validate(rb, nil)...)
		w := hcl.NewDiagnosticTextWriter(os.Stdout, rb.Files, 100, false)
		w.WriteDiagnostics(diags)
	}
}
