package planner

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/nrun-dev/nrun/lang"
)

// corpusDirs are the fixture directories Validate runs over. A runbook is
// one .nrun.hcl file, or a directory of them (a multi-file runbook). The
// lang directories belong to the lang package; while they do not exist yet
// the test skips them, and once they exist it runs them.
//
// lang's fixtures are written to be valid or invalid as a language, not to
// be safe: many restart servers without a snapshot or a quorum check on
// purpose. So in them a safety finding (a diagnostic whose Summary ends in
// a rule ID such as "(NR-S004)") is not an unexpected error, though it
// still needs a Subject and a Detail. Everything else, cycles included, is
// checked strictly; the safety fixtures have their own test.
var corpusDirs = []struct {
	dir        string
	valid      bool
	optional   bool
	safetyFree bool // safety findings are not checked
}{
	{dir: "testdata/invalid"},
	{dir: "../lang/testdata/valid", valid: true, optional: true, safetyFree: true},
	{dir: "../lang/testdata/invalid", optional: true, safetyFree: true},
}

// safetyFinding matches the Summary of a safety rule's diagnostic.
var safetyFinding = regexp.MustCompile(`\(NR-S\d+\)$`)

// expectComment matches `# ERROR: <summary>` or `# WARNING: <summary>`
// (also with //) anywhere on a line.
var expectComment = regexp.MustCompile(`(?:#|//)\s*(ERROR|WARNING):\s*([^#]*[^#\s])`)

type expectation struct {
	file     string // base name
	line     int
	severity hcl.DiagnosticSeverity
	summary  string
	matched  bool
}

func TestCorpus(t *testing.T) {
	for _, cd := range corpusDirs {
		name := strings.TrimPrefix(filepath.ToSlash(cd.dir), "../")
		if name == cd.dir {
			name = "planner/" + name
		}
		t.Run(name, func(t *testing.T) {
			entries, err := os.ReadDir(cd.dir)
			if errors.Is(err, fs.ErrNotExist) && cd.optional {
				t.Skipf("%s does not exist yet", cd.dir)
			}
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range entries {
				path := filepath.Join(cd.dir, e.Name())
				if !e.IsDir() && !strings.HasSuffix(e.Name(), ".nrun.hcl") {
					continue
				}
				if e.IsDir() && len(runbookFiles(t, path)) == 0 {
					continue
				}
				n++
				t.Run(e.Name(), func(t *testing.T) { checkCorpusRunbook(t, path, cd.valid, cd.safetyFree) })
			}
			if n == 0 {
				t.Fatalf("%s holds no runbooks", cd.dir)
			}
		})
	}
}

// runbookFiles returns the .nrun.hcl files of a runbook path (a file or a
// directory), sorted.
func runbookFiles(t *testing.T, path string) []string {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsDir() {
		return []string{path}
	}
	files, err := filepath.Glob(filepath.Join(path, "*.nrun.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

func readExpectations(t *testing.T, files []string) []*expectation {
	t.Helper()
	var out []*expectation
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(src), "\n") {
			for _, m := range expectComment.FindAllStringSubmatch(line, -1) {
				sev := hcl.DiagError
				if m[1] == "WARNING" {
					sev = hcl.DiagWarning
				}
				out = append(out, &expectation{file: filepath.Base(f), line: i + 1, severity: sev, summary: m[2]})
			}
		}
	}
	return out
}

func checkCorpusRunbook(t *testing.T, path string, valid, safetyFree bool) {
	expects := readExpectations(t, runbookFiles(t, path))
	if !valid && len(expects) == 0 {
		t.Fatalf("%s is in an invalid corpus but declares no # ERROR: or # WARNING: comment", path)
	}

	// No input values, as in lang's own corpus: a required variable stays
	// unknown, which is what `nrun validate` does without -var.
	rb, diags := lang.Load(path)
	_, vdiags := Validate(rb, nil)
	diags = append(diags, vdiags...)

	for _, d := range diags {
		if d.Subject == nil {
			t.Errorf("diagnostic without a Subject: %s: %s", d.Summary, d.Detail)
			continue
		}
		if strings.TrimSpace(d.Detail) == "" {
			t.Errorf("diagnostic without a Detail at %s: %s", rangePos(*d.Subject), d.Summary)
		}
		matched := match(expects, d)
		switch {
		case d.Severity != hcl.DiagError:
		case safetyFree && safetyFinding.MatchString(d.Summary):
		case valid:
			t.Errorf("valid runbook has an error at %s: %s: %s", rangePos(*d.Subject), d.Summary, d.Detail)
		case !matched:
			t.Errorf("unexpected error at %s: %s: %s", rangePos(*d.Subject), d.Summary, d.Detail)
		}
	}
	for _, e := range expects {
		if !e.matched {
			kind := "error"
			if e.severity == hcl.DiagWarning {
				kind = "warning"
			}
			t.Errorf("%s:%d: expected %s %q, got none there", e.file, e.line, kind, e.summary)
		}
	}
}

// match marks the first unmatched expectation that d satisfies: same file,
// same severity, exact Summary, Subject starting on the comment's line.
func match(expects []*expectation, d *hcl.Diagnostic) bool {
	for _, e := range expects {
		if e.matched || e.severity != d.Severity || e.summary != d.Summary ||
			e.line != d.Subject.Start.Line || e.file != filepath.Base(d.Subject.Filename) {
			continue
		}
		e.matched = true
		return true
	}
	return false
}
