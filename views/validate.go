package views

import (
	"fmt"
	"io"
	"strings"
)

// ValidateSummary is what `nrun validate` found, reduced to counts.
type ValidateSummary struct {
	Steps    int // step blocks, top-level and inner
	Errors   int
	Warnings int
	// Waivers counts the safety rules waived by allow_unsafe blocks. The
	// safety analysis fills it in; it is printed only when non-zero, so a
	// runbook without waivers reads the same before and after that
	// analysis lands.
	Waivers int
}

// ValidateSummaryText writes the one-line verdict that ends human
// `nrun validate` output:
//
//	Success! The runbook is valid (3 steps, 0 warnings, 1 waiver).
//	Error: the runbook is invalid (2 errors, 1 warning).
func ValidateSummaryText(w io.Writer, s ValidateSummary, color bool) error {
	var verdict, colorCode string
	var counts []string
	if s.Errors > 0 {
		verdict, colorCode = "Error: the runbook is invalid", "\x1b[1;31m"
		counts = append(counts, plural(s.Errors, "error"))
		counts = append(counts, plural(s.Warnings, "warning"))
	} else {
		verdict, colorCode = "Success! The runbook is valid", "\x1b[1;32m"
		counts = append(counts, plural(s.Steps, "step"))
		counts = append(counts, plural(s.Warnings, "warning"))
	}
	if s.Waivers > 0 {
		counts = append(counts, plural(s.Waivers, "waiver"))
	}
	if color {
		verdict = colorCode + verdict + "\x1b[0m"
	}
	_, err := fmt.Fprintf(w, "%s (%s).\n", verdict, strings.Join(counts, ", "))
	return err
}

func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
