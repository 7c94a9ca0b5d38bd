package executor

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/nrun-dev/nrun/executor/journal"
)

// TestCompositeInnerFailureFollowsOnFailure: an inner step that sets no
// on_failure follows its composite's (the rolling upgrade's per-server step
// pauses when its inner start fails); one that sets its own keeps it. Any
// inner failure but an inner step's own "continue" ends the composite
// instance: its later inner steps do not start.
func TestCompositeInnerFailureFollowsOnFailure(t *testing.T) {
	tests := map[string]struct {
		outer, inner string // on_failure attributes, "" for none
		tailAfter    string // the inner step tail depends on; default start
		wantStatus   string
		wantFailed   int
		wantStops    int  // inner "stop" markers
		wantTails    int  // inner "tail" markers (after the failing inner step)
		wantVerify   bool // the step after the composite ran
	}{
		"pause inherited": {
			outer: "pause", wantStatus: journal.StatusPaused, wantFailed: 1, wantStops: 1,
		},
		"continue inherited ends the instance, the run goes on": {
			outer: "continue", wantStatus: journal.StatusFinished, wantFailed: 2, wantStops: 2,
		},
		"abort by default": {
			wantStatus: journal.StatusFailed, wantFailed: 1, wantStops: 1,
		},
		"an inner step's own abort wins over pause": {
			outer: "pause", inner: "abort", wantStatus: journal.StatusFailed, wantFailed: 1, wantStops: 1,
		},
		"an inner step's own continue goes on inside the instance": {
			outer: "pause", inner: "continue", tailAfter: "stop",
			wantStatus: journal.StatusFinished, wantFailed: 2, wantStops: 2, wantTails: 2, wantVerify: true,
		},
	}
	attr := func(v string) string {
		if v == "" {
			return ""
		}
		return `on_failure = "` + v + `"`
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			tailAfter := tc.tailAfter
			if tailAfter == "" {
				tailAfter = "start"
			}
			rb, inputs, p := planFor(t, dir, `
step "upgrade" {
  for_each     = toset(["a", "b"])
  max_parallel = 1
  `+attr(tc.outer)+`
  step "stop" {
    action "exec" {
      command = ["touch", "${each.key}-stop"]
      effect  = "none"
    }
  }
  step "start" {
    depends_on = [step.stop]
    `+attr(tc.inner)+`
    action "exec" {
      command = ["sh", "-c", "test -e fixed"]
      effect  = "none"
    }
  }
  step "tail" {
    depends_on = [step.`+tailAfter+`]
    action "exec" {
      command = ["touch", "${each.key}-tail"]
      effect  = "none"
    }
  }
}
step "verify" {
  depends_on = [step.upgrade]
  action "exec" {
    command = ["touch", "verify"]
    effect  = "none"
  }
}
`)
			cfg := testConfig(t, dir, rb, inputs, p, nil)
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.wantStatus || len(res.Failed) != tc.wantFailed {
				t.Fatalf("status %s with %d failed, want %s with %d: %+v", res.Status, len(res.Failed), tc.wantStatus, tc.wantFailed, res)
			}
			count := func(suffix string) int {
				n := 0
				for _, k := range []string{"a", "b"} {
					if _, err := os.Stat(filepath.Join(dir, k+suffix)); err == nil {
						n++
					}
				}
				return n
			}
			if got := count("-stop"); got != tc.wantStops {
				t.Errorf("%d inner stops ran, want %d", got, tc.wantStops)
			}
			if got := count("-tail"); got != tc.wantTails {
				t.Errorf("%d inner tails ran, want %d", got, tc.wantTails)
			}
			if _, err := os.Stat(filepath.Join(dir, "verify")); (err == nil) != tc.wantVerify {
				t.Errorf("verify ran = %v, want %v", err == nil, tc.wantVerify)
			}
			if tc.wantStatus != journal.StatusPaused {
				return
			}
			// Fixed, a resume finishes the run from the failed inner step.
			if err := os.WriteFile(filepath.Join(dir, "fixed"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg.Resume = true
			res, err = Run(context.Background(), cfg)
			if err != nil || res.Status != journal.StatusFinished {
				t.Fatalf("resume: %v %+v", err, res)
			}
			if count("-stop") != 2 || count("-tail") != 2 {
				t.Errorf("after the resume %d stops and %d tails ran, want 2 each", count("-stop"), count("-tail"))
			}
			if _, err := os.Stat(filepath.Join(dir, "verify")); err != nil {
				t.Error("verify did not run after the resume")
			}
		})
	}
}
