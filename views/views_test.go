package views

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var update = flag.Bool("update", false, "rewrite views/testdata/*.golden from the current output")

// checkGolden compares got with testdata/name, or rewrites the file under
// -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./views -update` to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

const sampleSrc = `runbook "demo" {}

step "drain" {
  for_each = data.nomad_nodes.blue.by_name
  action "nomad_node_drain" {
    node     = each.value
    deadlin  = "1h"
  }
}
`

// sample returns a parsed file and diagnostics of every shape a view must
// handle: an error with subject and context, a warning with an empty
// (insertion point) subject, one in a file we have no source for, and a
// sourceless environment problem.
func sample(t *testing.T) (hcl.Diagnostics, map[string]*hcl.File) {
	t.Helper()
	const name = "runbooks/demo.nrun.hcl"
	f, diags := hclsyntax.ParseConfig([]byte(sampleSrc), name, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	files := map[string]*hcl.File{name: f}
	// Line 7 is `    deadlin  = "1h"`; "deadlin" spans bytes 4..11 of it.
	lineStart := bytes.Index([]byte(sampleSrc), []byte("    deadlin"))
	subject := hcl.Range{Filename: name,
		Start: hcl.Pos{Line: 7, Column: 5, Byte: lineStart + 4},
		End:   hcl.Pos{Line: 7, Column: 12, Byte: lineStart + 11}}
	blockStart := bytes.Index([]byte(sampleSrc), []byte("  action"))
	blockEnd := bytes.Index([]byte(sampleSrc), []byte("  }\n}")) + 3
	context := hcl.Range{Filename: name,
		Start: hcl.Pos{Line: 5, Column: 3, Byte: blockStart},
		End:   hcl.Pos{Line: 8, Column: 4, Byte: blockEnd}}
	insert := bytes.Index([]byte(sampleSrc), []byte("step"))
	empty := hcl.Range{Filename: name,
		Start: hcl.Pos{Line: 3, Column: 1, Byte: insert},
		End:   hcl.Pos{Line: 3, Column: 1, Byte: insert}}
	return hcl.Diagnostics{
		{
			Severity: hcl.DiagError,
			Summary:  "Unsupported argument",
			Detail:   `An argument named "deadlin" is not expected in a nomad_node_drain action. Did you mean "deadline"? Fix the name, or remove the argument; the arguments of this action are node, deadline, ignore_system_jobs and force.`,
			Subject:  &subject,
			Context:  &context,
		},
		{
			Severity: hcl.DiagWarning,
			Summary:  "Step has no wait",
			Detail:   "Nothing checks the result of this step.",
			Subject:  &empty,
		},
		{
			Severity: hcl.DiagError,
			Summary:  "Missing file",
			Subject: &hcl.Range{Filename: "elsewhere.nrun.hcl",
				Start: hcl.Pos{Line: 2, Column: 1, Byte: 10}, End: hcl.Pos{Line: 2, Column: 5, Byte: 14}},
		},
		{
			Severity: hcl.DiagError,
			Summary:  "Nomad is unreachable",
			Detail:   "Get \"http://127.0.0.1:4646/v1/status/leader\": connection refused. Check NOMAD_ADDR.",
		},
	}, files
}

func TestDiagnostics(t *testing.T) {
	diags, files := sample(t)
	tests := map[string]struct {
		opts   DiagnosticsOptions
		golden string
	}{
		"plain":   {DiagnosticsOptions{Width: DiagnosticWidth}, "diagnostics.golden"},
		"color":   {DiagnosticsOptions{Width: DiagnosticWidth, Color: true}, "diagnostics_color.golden"},
		"no-wrap": {DiagnosticsOptions{}, "diagnostics_nowrap.golden"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Diagnostics(&buf, diags, files, tc.opts); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.golden, buf.Bytes())
		})
	}
}

func TestDiagnosticsEmptyWritesNothing(t *testing.T) {
	var buf bytes.Buffer
	if err := Diagnostics(&buf, nil, nil, DiagnosticsOptions{}); err != nil || buf.Len() != 0 {
		t.Fatalf("got %q, %v; want no output", buf.String(), err)
	}
}

func TestDiagnosticsJSON(t *testing.T) {
	diags, files := sample(t)
	var buf bytes.Buffer
	if err := DiagnosticsJSON(&buf, diags, files); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "diagnostics.json.golden", buf.Bytes())

	// The golden pins the bytes; these pin the contract documented on
	// JSONReport, so an -update cannot silently break consumers.
	var r JSONReport
	if err := json.Unmarshal(buf.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.FormatVersion != "1.0" || r.Valid || r.ErrorCount != 3 || r.WarningCount != 1 || len(r.Diagnostics) != 4 {
		t.Fatalf("header = %+v", r)
	}
	first := r.Diagnostics[0]
	if first.Range == nil || first.Range.Start.Line != 7 || first.Range.Start.Column != 5 {
		t.Fatalf("first range = %+v", first.Range)
	}
	sn := first.Snippet
	if sn == nil || sn.StartLine != 5 || sn.Code[sn.HighlightStartOffset:sn.HighlightEndOffset] != "deadlin" {
		t.Fatalf("first snippet = %+v", sn)
	}
	if sn.Context == nil || *sn.Context != `step "drain"` {
		t.Fatalf("snippet context = %v, want step \"drain\"", sn.Context)
	}
	if r.Diagnostics[2].Range == nil || r.Diagnostics[2].Snippet != nil {
		t.Fatalf("unknown file: want range without snippet, got %+v", r.Diagnostics[2])
	}
	if r.Diagnostics[3].Range != nil || r.Diagnostics[3].Snippet != nil {
		t.Fatalf("sourceless: want no range, got %+v", r.Diagnostics[3])
	}
}

func TestDiagnosticsJSONValid(t *testing.T) {
	var buf bytes.Buffer
	if err := DiagnosticsJSON(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"format_version\": \"1.0\",\n  \"valid\": true,\n  \"error_count\": 0,\n  \"warning_count\": 0,\n  \"diagnostics\": []\n}\n"
	if buf.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// A range that does not fit its file (a bug elsewhere, or a file changed
// since parsing) must not panic and must not invent a snippet.
func TestDiagnosticsJSONBadRange(t *testing.T) {
	_, files := sample(t)
	bad := &hcl.Range{Filename: "runbooks/demo.nrun.hcl",
		Start: hcl.Pos{Line: 90, Column: 1, Byte: 9000}, End: hcl.Pos{Line: 91, Column: 1, Byte: 9100}}
	r := NewJSONReport(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "x", Subject: bad}}, files)
	if r.Diagnostics[0].Snippet != nil || r.Diagnostics[0].Range == nil {
		t.Fatalf("got %+v", r.Diagnostics[0])
	}
}

func TestValidateSummaryText(t *testing.T) {
	tests := map[string]struct {
		in    ValidateSummary
		color bool
		want  string
	}{
		"valid":          {ValidateSummary{Steps: 3}, false, "Success! The runbook is valid (3 steps, 0 warnings).\n"},
		"one of each":    {ValidateSummary{Steps: 1, Warnings: 1, Waivers: 1}, false, "Success! The runbook is valid (1 step, 1 warning, 1 waiver).\n"},
		"waivers":        {ValidateSummary{Steps: 2, Waivers: 2}, false, "Success! The runbook is valid (2 steps, 0 warnings, 2 waivers).\n"},
		"invalid":        {ValidateSummary{Steps: 3, Errors: 2, Warnings: 1}, false, "Error: the runbook is invalid (2 errors, 1 warning).\n"},
		"valid colour":   {ValidateSummary{Steps: 2}, true, "\x1b[1;32mSuccess! The runbook is valid\x1b[0m (2 steps, 0 warnings).\n"},
		"invalid colour": {ValidateSummary{Errors: 1}, true, "\x1b[1;31mError: the runbook is invalid\x1b[0m (1 error, 0 warnings).\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := ValidateSummaryText(&buf, tc.in, tc.color); err != nil {
				t.Fatal(err)
			}
			if buf.String() != tc.want {
				t.Fatalf("got %q, want %q", buf.String(), tc.want)
			}
		})
	}
}

func TestCount(t *testing.T) {
	diags, _ := sample(t)
	if e, w := Count(diags); e != 3 || w != 1 {
		t.Fatalf("Count = %d, %d; want 3, 1", e, w)
	}
}

// A nil diagnostic (a bug in whoever built the list) is skipped, not a
// panic or a half-printed list.
func TestNilDiagnostic(t *testing.T) {
	diags, files := sample(t)
	withNil := append(hcl.Diagnostics{nil}, diags...)
	var want, got bytes.Buffer
	if err := Diagnostics(&want, diags, files, DiagnosticsOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Diagnostics(&got, withNil, files, DiagnosticsOptions{}); err != nil {
		t.Fatal(err)
	}
	if got.String() != want.String() {
		t.Errorf("with a nil diagnostic:\n%s\nwant:\n%s", got.String(), want.String())
	}
	if e, w := Count(withNil); e != 3 || w != 1 {
		t.Errorf("Count = %d, %d; want 3, 1", e, w)
	}
	if r := NewJSONReport(withNil, files); len(r.Diagnostics) != 4 {
		t.Errorf("JSON has %d diagnostics, want 4", len(r.Diagnostics))
	}
}
