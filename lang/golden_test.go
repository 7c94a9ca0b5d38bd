package lang

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// TestDiagnosticsGolden renders every diagnostic of the invalid corpus the
// way the CLI prints them, into testdata/invalid.golden, so a change in
// wording or ranges shows up in review. Regenerate with -update.
func TestDiagnosticsGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*" + FileSuffix)
	var buf bytes.Buffer
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rb, diags := Parse(map[string][]byte{f: src})
		diags = append(diags, Validate(rb, nil)...)
		buf.WriteString("=== " + filepath.Base(f) + "\n")
		w := hcl.NewDiagnosticTextWriter(&buf, rb.Files, 100, false)
		if err := w.WriteDiagnostics(diags); err != nil {
			t.Fatal(err)
		}
	}
	const golden = "testdata/invalid.golden"
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v; run go test ./lang -run TestDiagnosticsGolden -update", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Errorf("diagnostics differ from %s; review the change, then run go test ./lang -run TestDiagnosticsGolden -update", golden)
	}
}
