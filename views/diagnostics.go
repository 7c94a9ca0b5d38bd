package views

import (
	"io"

	"github.com/hashicorp/hcl/v2"
)

// DiagnosticWidth is the width human diagnostics are wrapped to. 78 keeps
// the output readable in an 80-column terminal and in CI logs.
const DiagnosticWidth = 78

// DiagnosticsOptions controls how human diagnostics look.
type DiagnosticsOptions struct {
	// Color adds VT100 colour to severities and highlights the subject in
	// the source snippet. Callers set it only when the output is a
	// terminal, NO_COLOR is unset and -no-color was not given.
	Color bool
	// Width wraps detail text and is usually DiagnosticWidth. Zero means
	// no wrapping.
	Width uint
}

// Diagnostics writes diags as human-readable text using hcl's diagnostic
// text writer, with source snippets taken from files (file name to parsed
// file, as in lang.Runbook.Files). A diagnostic whose file is not in files
// is printed without a snippet; a sourceless diagnostic (an environment
// problem) is printed as its summary and detail only.
func Diagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File, opts DiagnosticsOptions) error {
	dw := hcl.NewDiagnosticTextWriter(w, files, opts.Width, opts.Color)
	for _, d := range diags {
		if d == nil {
			continue // hcl's writer refuses nil; there is nothing to print
		}
		if err := dw.WriteDiagnostic(d); err != nil {
			return err
		}
	}
	return nil
}

// Count returns the number of errors and warnings in diags.
func Count(diags hcl.Diagnostics) (errors, warnings int) {
	for _, d := range diags {
		if d == nil {
			continue
		}
		switch d.Severity {
		case hcl.DiagError:
			errors++
		case hcl.DiagWarning:
			warnings++
		}
	}
	return errors, warnings
}
