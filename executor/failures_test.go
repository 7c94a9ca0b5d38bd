package executor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrun-dev/nrun/executor/journal"
)

// TestMaxFailures: five instances run one at a time, in key order, and b
// and c fail. The budget is exceeded only by strictly more failures than
// it allows, and then the step's on_failure (abort) applies: d and e do not
// start. Within the budget a failure counts as on_failure = "continue":
// the rest of the step runs, a step that depends on it is skipped, and an
// independent step runs.
func TestMaxFailures(t *testing.T) {
	all := []string{"a", "b", "c", "d", "e"}
	tests := map[string]struct {
		budget     string
		wantStatus string
		wantRan    []string
	}{
		"count equal to the failures goes on": {budget: `2`, wantStatus: journal.StatusFinished, wantRan: all},
		"count one stops after the second":    {budget: `1`, wantStatus: journal.StatusFailed, wantRan: []string{"a", "b", "c"}},
		"count zero stops at the first":       {budget: `0`, wantStatus: journal.StatusFailed, wantRan: []string{"a", "b"}},
		"string count":                        {budget: `"2"`, wantStatus: journal.StatusFinished, wantRan: all},
		"percentage equal goes on":            {budget: `"40%"`, wantStatus: journal.StatusFinished, wantRan: all},
		"percentage just under stops":         {budget: `"39%"`, wantStatus: journal.StatusFailed, wantRan: []string{"a", "b", "c"}},
		"percentage of one instance":          {budget: `"20%"`, wantStatus: journal.StatusFailed, wantRan: []string{"a", "b", "c"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			rb, inputs, p := planFor(t, dir, `
step "roll" {
  for_each     = toset(["a", "b", "c", "d", "e"])
  max_failures = `+tc.budget+`
  action "exec" {
    command = ["sh", "-c", "touch ran-$0; case $0 in b|c) exit 3;; esac", each.key]
    effect  = "none"
  }
}
step "verify" {
  depends_on = [step.roll]
  action "exec" {
    command = ["touch", "verify"]
    effect  = "none"
  }
}
`)
			res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, nil))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.wantStatus || len(res.Failed) != min(2, len(tc.wantRan)-1) {
				t.Fatalf("status %s with failed %v, want %s: %+v", res.Status, res.Failed, tc.wantStatus, res)
			}
			var ran []string
			for _, k := range all {
				if _, err := os.Stat(filepath.Join(dir, "ran-"+k)); err == nil {
					ran = append(ran, k)
				}
			}
			if strings.Join(ran, ",") != strings.Join(tc.wantRan, ",") {
				t.Errorf("ran %v, want %v", ran, tc.wantRan)
			}
			if _, err := os.Stat(filepath.Join(dir, "verify")); err == nil {
				t.Error("verify ran although instances of the step it depends on failed")
			}
			// The journal records every failure as before, so resume
			// sees them.
			recs, err := journal.Read(filepath.Join(res.RunDir, "journal.jsonl"))
			if err != nil {
				t.Fatalf("journal: %v", err)
			}
			failed := 0
			for _, rec := range recs {
				if rec.Kind == journal.KindFailed {
					failed++
				}
			}
			if failed != len(res.Failed) {
				t.Errorf("journal has %d failed records, result %d", failed, len(res.Failed))
			}
		})
	}
}

// TestMaxFailuresResume: a run stopped by an exceeded budget resumes like
// any failed run: the failed instances and those that never started run,
// and the budget counts afresh.
func TestMaxFailuresResume(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "roll" {
  for_each     = toset(["a", "b", "c", "d", "e"])
  max_failures = 1
  action "exec" {
    command = ["sh", "-c", "touch ran-$0; test -e fixed || case $0 in b|c) exit 3;; esac", each.key]
    effect  = "none"
  }
}
step "verify" {
  depends_on = [step.roll]
  action "exec" {
    command = ["touch", "verify"]
    effect  = "none"
  }
}
`)
	cfg := testConfig(t, dir, rb, inputs, p, nil)
	res, err := Run(context.Background(), cfg)
	if err != nil || res.Status != journal.StatusFailed || len(res.Failed) != 2 {
		t.Fatalf("%v %+v", err, res)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran-d")); err == nil {
		t.Fatal("d started after the budget was exceeded")
	}
	os.WriteFile(filepath.Join(dir, "fixed"), nil, 0o644)
	cfg.Resume = true
	res, err = Run(context.Background(), cfg)
	if err != nil || res.Status != journal.StatusFinished || len(res.Failed) != 0 {
		t.Fatalf("resume: %v %+v", err, res)
	}
	for _, f := range []string{"ran-d", "ran-e", "verify"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s did not run on resume", f)
		}
	}
}

// TestEnabledFalse: a step whose enabled is false at plan never runs, and
// the step that depends on it runs after what it depended on.
func TestEnabledFalse(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
variable "upgrade_consul" {
  type    = bool
  default = false
}
step "first" {
  action "exec" {
    command = ["touch", "first"]
    effect  = "none"
  }
}
step "consul" {
  enabled    = var.upgrade_consul
  depends_on = [step.first]
  action "exec" {
    command = ["touch", "consul"]
    effect  = "none"
  }
}
step "after" {
  depends_on = [step.consul]
  action "exec" {
    command = ["sh", "-c", "test -e first && touch after"]
    effect  = "none"
  }
}
`)
	res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != journal.StatusFinished || strings.Join(res.Finished, ",") != "step.first,step.after" && strings.Join(res.Finished, ",") != "step.after,step.first" {
		t.Fatalf("%+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "consul")); err == nil {
		t.Error("the disabled step ran")
	}
	if _, err := os.Stat(filepath.Join(dir, "after")); err != nil {
		t.Error("the step after the disabled one did not run after first")
	}
}

// TestMaxParallelFromPlan: max_parallel = var.n runs as the plan resolved
// it. Each instance waits until two have started, so the run finishes
// only if two really run at the same time.
func TestMaxParallelFromPlan(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
variable "n" {
  type = number
}
step "pair" {
  for_each     = toset(["a", "b", "c"])
  max_parallel = var.n
  action "exec" {
    command = ["sh", "-c", "touch in-$0; i=0; while [ $(ls in-* | wc -l) -lt 2 ]; do i=$((i+1)); [ $i -gt 200 ] && exit 1; sleep 0.05; done", each.key]
    effect  = "none"
  }
}
`, "n=2")
	if p.Steps[0].MaxParallel != 2 {
		t.Fatalf("plan max_parallel = %d", p.Steps[0].MaxParallel)
	}
	res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != journal.StatusFinished || len(res.Finished) != 3 {
		t.Fatalf("%+v", res)
	}
}
