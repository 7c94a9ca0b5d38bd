package executor

import (
	"regexp"
	"testing"
	"time"
)

// TestRunIDsSortByStart: runs started within one second sort in the order
// they started, to 1/65536 s, whatever their random part; the ID keeps
// its shape.
func TestRunIDsSortByStart(t *testing.T) {
	base := time.Date(2026, 12, 6, 5, 39, 55, 0, time.UTC)
	shape := regexp.MustCompile(`^20261206T053955Z-[0-9a-f]{6}$`)
	prev := ""
	for ns := 0; ns < int(time.Second); ns += int(time.Second) / 1000 {
		for k := 0; k < 3; k++ {
			id := NewRunID(base.Add(time.Duration(ns)))
			if !shape.MatchString(id) {
				t.Fatalf("run ID %q has not the shape YYYYMMDDTHHMMSSZ-xxxxxx", id)
			}
			if k == 0 && id <= prev {
				t.Fatalf("the run started %dns into the second, %s, sorts before (or with) the one started earlier, %s", ns, id, prev)
			}
			if k == 0 {
				prev = id
			}
		}
	}
	if next := NewRunID(base.Add(time.Second)); next <= prev {
		t.Fatalf("the next second's run %s sorts before %s", next, prev)
	}
	// A local time is written in UTC.
	if id := NewRunID(base.In(time.FixedZone("X", 3600))); !shape.MatchString(id) {
		t.Fatalf("run ID %q is not in UTC", id)
	}
}
