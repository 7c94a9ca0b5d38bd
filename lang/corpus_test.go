package lang

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// expectRe matches the expected-diagnostic comment on an offending line.
var expectRe = regexp.MustCompile(`#\s*(ERROR|WARNING):\s*(.+?)\s*$`)

type expectation struct {
	severity hcl.DiagnosticSeverity
	summary  string
	line     int
}

func (e expectation) String() string {
	sev := "ERROR"
	if e.severity == hcl.DiagWarning {
		sev = "WARNING"
	}
	return fmt.Sprintf("line %d: %s: %s", e.line, sev, e.summary)
}

func expectations(t *testing.T, src []byte) []expectation {
	t.Helper()
	var out []expectation
	sc := bufio.NewScanner(bytes.NewReader(src))
	for line := 1; sc.Scan(); line++ {
		m := expectRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		sev := hcl.DiagError
		if m[1] == "WARNING" {
			sev = hcl.DiagWarning
		}
		out = append(out, expectation{severity: sev, summary: m[2], line: line})
	}
	return out
}

// parseAndValidate runs the whole offline front end on one file.
func parseAndValidate(path string, src []byte) hcl.Diagnostics {
	rb, diags := Parse(map[string][]byte{path: src})
	return append(diags, Validate(rb, nil)...)
}

// TestCorpus checks every file under testdata/valid and testdata/invalid:
// each expected diagnostic (a "# ERROR: summary" or "# WARNING: summary"
// comment) must be reported on that line, and nothing else may be
// reported. Every diagnostic must have a Subject.
func TestCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*" + FileSuffix)
	invalid, _ := filepath.Glob("testdata/invalid/*" + FileSuffix)
	if len(files) < 8 || len(invalid) < 45 {
		t.Errorf("corpus too small: %d valid, %d invalid files", len(files), len(invalid))
	}
	files = append(files, invalid...)
	for _, path := range files {
		t.Run(strings.TrimSuffix(path, FileSuffix), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := expectations(t, src)
			if strings.Contains(path, "/invalid/") && len(want) == 0 {
				t.Fatal("invalid case has no # ERROR: or # WARNING: comment")
			}
			diags := parseAndValidate(path, src)
			matched := make([]bool, len(want))
			var unexpected []string
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic without Subject: %s: %s", d.Summary, d.Detail)
					continue
				}
				if strings.TrimSpace(d.Detail) == "" {
					t.Errorf("diagnostic without Detail: %s", d.Summary)
				}
				found := false
				for i, w := range want {
					if !matched[i] && w.severity == d.Severity && w.summary == d.Summary && w.line == d.Subject.Start.Line {
						matched[i], found = true, true
						break
					}
				}
				if !found {
					sev := "ERROR"
					if d.Severity == hcl.DiagWarning {
						sev = "WARNING"
					}
					unexpected = append(unexpected, fmt.Sprintf("line %d: %s: %s (%s)", d.Subject.Start.Line, sev, d.Summary, d.Detail))
				}
			}
			for i, w := range want {
				if !matched[i] {
					t.Errorf("missing expected diagnostic %s", w)
				}
			}
			sort.Strings(unexpected)
			for _, u := range unexpected {
				t.Errorf("unexpected diagnostic %s", u)
			}
		})
	}
}
