package lang

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// nameSwitchAllowed are the places outside the catalog that still decide
// on an action's or check's name, as "file: name". It only shrinks, and
// is empty: every such fact is in the catalog entry. TestNoNameSwitches
// fails on a new one, and on one that is gone but still listed.
var nameSwitchAllowed = map[string]bool{}

// TestNoNameSwitches scans the non-test Go sources of lang, planner,
// executor, views and checks for decisions on an action's or check's
// name (case "NAME", == "NAME", != "NAME") outside the catalog files.
func TestNoNameSwitches(t *testing.T) {
	names := append(ActionTypes(), CheckNames()...)
	re := regexp.MustCompile(`(case|[=!]=)\s*"(` + strings.Join(names, "|") + `)"(\s*[,:]\s*"(` + strings.Join(names, "|") + `)")*`)
	inner := regexp.MustCompile(`"(` + strings.Join(names, "|") + `)"`)
	// The same decision written with a name constant: lang.ActionExec,
	// checks.HTTPCheck, CheckNodeReady, ...
	konst := regexp.MustCompile(`(case|[=!]=)\s*(lang\.(?:Action|Check)[A-Z]\w*|checks\.HTTPCheck)\b`)
	found := map[string]bool{}
	for _, dir := range []string{"lang", "planner", "executor", "views", "checks"} {
		files, _ := filepath.Glob(filepath.Join("..", dir, "*.go"))
		for _, f := range files {
			base := filepath.Base(f)
			if strings.HasSuffix(base, "_test.go") || strings.HasPrefix(base, "catalog_") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range konst.FindAllStringSubmatch(string(src), -1) {
				found[dir+"/"+base+": "+m[2]] = true
			}
			for _, m := range re.FindAllString(string(src), -1) {
				for _, n := range inner.FindAllStringSubmatch(m, -1) {
					found[dir+"/"+base+": "+n[1]] = true
				}
			}
		}
	}
	var extra, gone []string
	for k := range found {
		if !nameSwitchAllowed[k] {
			extra = append(extra, k)
		}
	}
	for k := range nameSwitchAllowed {
		if !found[k] {
			gone = append(gone, k)
		}
	}
	sort.Strings(extra)
	sort.Strings(gone)
	for _, k := range extra {
		t.Errorf("%s: decides on a catalog name; read a catalog fact instead", k)
	}
	for _, k := range gone {
		t.Errorf("%s: no longer decides on the name; remove it from nameSwitchAllowed", k)
	}
}
