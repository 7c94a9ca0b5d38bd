package views

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// JSONFormatVersion is the format_version of the machine-readable
// diagnostics object. The major part changes when a field is removed or its
// meaning changes; the minor part changes when fields are added, so readers
// must ignore fields they do not know.
const JSONFormatVersion = "1.0"

// JSONReport is the object printed by `nrun validate -json`, modelled on
// `terraform validate -json`:
//
//	{
//	  "format_version": "1.0",
//	  "valid": false,              // true when there is no error (warnings allowed)
//	  "error_count": 1,
//	  "warning_count": 0,
//	  "diagnostics": [             // always an array, possibly empty
//	    {
//	      "severity": "error",     // "error" or "warning"
//	      "summary": "Unsupported argument",
//	      "detail": "An argument named \"x\" is not expected here.",
//	      "range": {               // absent for sourceless (environment) problems
//	        "filename": "runbooks/a.nrun.hcl",
//	        "start": {"line": 3, "column": 3, "byte": 40},  // line and column 1-based, byte 0-based
//	        "end":   {"line": 3, "column": 4, "byte": 41}
//	      },
//	      "snippet": {             // absent when the source is not available
//	        "context": "step \"drain\"",  // enclosing block header, or null
//	        "code": "  x = 1",             // whole source lines covering the range
//	        "start_line": 3,
//	        "highlight_start_offset": 2,   // byte offsets of the subject within code
//	        "highlight_end_offset": 3
//	      }
//	    }
//	  ]
//	}
type JSONReport struct {
	FormatVersion string           `json:"format_version"`
	Valid         bool             `json:"valid"`
	ErrorCount    int              `json:"error_count"`
	WarningCount  int              `json:"warning_count"`
	Diagnostics   []JSONDiagnostic `json:"diagnostics"`
}

// JSONDiagnostic is one diagnostic of a JSONReport.
type JSONDiagnostic struct {
	Severity string       `json:"severity"`
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail,omitempty"`
	Range    *JSONRange   `json:"range,omitempty"`
	Snippet  *JSONSnippet `json:"snippet,omitempty"`
}

// JSONRange is a source range. Lines and columns count from 1, bytes from 0.
type JSONRange struct {
	Filename string  `json:"filename"`
	Start    JSONPos `json:"start"`
	End      JSONPos `json:"end"`
}

// JSONPos is one position of a JSONRange.
type JSONPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// JSONSnippet is the source code around a diagnostic's subject.
type JSONSnippet struct {
	// Context is the header of the block enclosing the subject, such as
	// `step "drain"`, or nil when the subject is at the top level.
	Context              *string `json:"context"`
	Code                 string  `json:"code"`
	StartLine            int     `json:"start_line"`
	HighlightStartOffset int     `json:"highlight_start_offset"`
	HighlightEndOffset   int     `json:"highlight_end_offset"`
}

// NewJSONReport builds the machine-readable form of diags. Snippets come
// from files; a diagnostic whose file is unknown gets a range but no
// snippet.
func NewJSONReport(diags hcl.Diagnostics, files map[string]*hcl.File) JSONReport {
	errs, warns := Count(diags)
	r := JSONReport{
		FormatVersion: JSONFormatVersion,
		Valid:         errs == 0,
		ErrorCount:    errs,
		WarningCount:  warns,
		Diagnostics:   make([]JSONDiagnostic, 0, len(diags)),
	}
	for _, d := range diags {
		if d == nil {
			continue
		}
		jd := JSONDiagnostic{Severity: severityName(d.Severity), Summary: d.Summary, Detail: d.Detail}
		if d.Subject != nil {
			jd.Range = jsonRange(*d.Subject)
			jd.Snippet = jsonSnippet(d, files[d.Subject.Filename])
		}
		r.Diagnostics = append(r.Diagnostics, jd)
	}
	return r
}

// DiagnosticsJSON writes the JSONReport of diags as indented JSON followed
// by a newline.
func DiagnosticsJSON(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewJSONReport(diags, files))
}

func severityName(s hcl.DiagnosticSeverity) string {
	switch s {
	case hcl.DiagError:
		return "error"
	case hcl.DiagWarning:
		return "warning"
	}
	return "invalid"
}

func jsonRange(r hcl.Range) *JSONRange {
	return &JSONRange{
		Filename: r.Filename,
		Start:    JSONPos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
		End:      JSONPos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte},
	}
}

// jsonSnippet cuts the whole lines that cover the subject (and the context
// range, when there is one) out of the file, the way hcl's text writer
// chooses the lines it prints. It returns nil rather than guess when the
// range does not fit the file.
func jsonSnippet(d *hcl.Diagnostic, file *hcl.File) *JSONSnippet {
	if file == nil || file.Bytes == nil {
		return nil
	}
	src := file.Bytes
	subject := *d.Subject
	if subject.Start.Byte < 0 || subject.End.Byte > len(src) || subject.Start.Byte > subject.End.Byte {
		return nil
	}
	snip := subject
	if d.Context != nil && d.Context.Filename == subject.Filename &&
		d.Context.Start.Byte >= 0 && d.Context.End.Byte <= len(src) && d.Context.Start.Byte <= d.Context.End.Byte {
		snip = hcl.RangeOver(snip, *d.Context)
	}
	if snip.Empty() {
		// An empty range (a missing thing) still points at a line.
		snip.End.Byte++
		snip.End.Column++
	}

	var lines []string
	codeStart, startLine := -1, 0
	sc := hcl.NewRangeScanner(src, subject.Filename, bufio.ScanLines)
	for sc.Scan() {
		lr := sc.Range()
		if !lr.Overlaps(snip) {
			continue
		}
		if codeStart < 0 {
			codeStart, startLine = lr.Start.Byte, lr.Start.Line
		}
		lines = append(lines, string(sc.Bytes()))
	}
	if codeStart < 0 {
		return nil
	}
	code := strings.Join(lines, "\n")
	hs := clamp(subject.Start.Byte-codeStart, 0, len(code))
	he := clamp(subject.End.Byte-codeStart, hs, len(code))

	s := &JSONSnippet{
		Code:                 code,
		StartLine:            startLine,
		HighlightStartOffset: hs,
		HighlightEndOffset:   he,
	}
	if nav, ok := file.Nav.(interface{ ContextString(int) string }); ok {
		if c := nav.ContextString(subject.Start.Byte); c != "" {
			s.Context = &c
		}
	}
	return s
}

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
