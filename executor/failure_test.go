package executor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor/journal"
)

func TestOnFailure(t *testing.T) {
	tests := map[string]struct {
		onFailure  string
		wantStatus string
		wantRan    []string // marker files that must exist
		wantNotRan []string
		// wantFailed is how many instances the result lists as failed
		// (the CLI exits 1 for a finished run with failures).
		wantFailed int
	}{
		"abort stops new work but lets the running sibling finish": {
			onFailure: "abort", wantStatus: journal.StatusFailed,
			wantRan: []string{"sibling"}, wantNotRan: []string{"after", "dependant"}, wantFailed: 1,
		},
		"continue skips only the dependants": {
			onFailure: "continue", wantStatus: journal.StatusFinished,
			wantRan: []string{"sibling", "after"}, wantNotRan: []string{"dependant"}, wantFailed: 1,
		},
		"pause stops and leaves the run paused": {
			onFailure: "pause", wantStatus: journal.StatusPaused,
			wantRan: []string{"sibling"}, wantNotRan: []string{"after", "dependant"}, wantFailed: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			rb, inputs, p := planFor(t, dir, `
step "bad" {
  on_failure = "`+tc.onFailure+`"
  action "exec" {
    command = ["sh", "-c", "exit 7"]
    effect  = "none"
  }
}
step "sibling" {
  action "exec" {
    command = ["sh", "-c", "sleep 0.3; touch sibling"]
    effect  = "none"
  }
}
step "dependant" {
  depends_on = [step.bad]
  action "exec" {
    command = ["touch", "dependant"]
    effect  = "none"
  }
}
step "after" {
  depends_on = [step.sibling]
  action "exec" {
    command = ["touch", "after"]
    effect  = "none"
  }
}
`)
			res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, nil))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.wantStatus || len(res.Failed) != tc.wantFailed {
				t.Fatalf("status %s with %d failed, want %s with %d: %+v", res.Status, len(res.Failed), tc.wantStatus, tc.wantFailed, res)
			}
			for _, f := range tc.wantRan {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s did not run", f)
				}
			}
			for _, f := range tc.wantNotRan {
				if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
					t.Errorf("%s ran", f)
				}
			}
			if len(res.Failed) != 1 || res.Failed[0] != "step.bad" {
				t.Errorf("failed = %v", res.Failed)
			}
		})
	}
}

func TestRetry(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "flaky" {
  retry {
    attempts = 3
    delay    = "10ms"
  }
  action "exec" {
    command = ["sh", "-c", "echo x >> tries; test $(wc -l < tries) -ge 3"]
    effect  = "none"
  }
}
`)
	res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, nil))
	if err != nil || res.Status != journal.StatusFinished {
		t.Fatalf("%v %+v", err, res)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "tries"))
	if n := strings.Count(string(data), "x"); n != 3 {
		t.Fatalf("%d tries, want 3", n)
	}
	recs, _ := journal.Read(filepath.Join(res.RunDir, journal.FileName))
	intents := 0
	for _, r := range recs {
		if r.Kind == journal.KindIntent {
			intents++
		}
	}
	if intents != 3 {
		t.Errorf("%d intent records, want one per attempt (3)", intents)
	}
}

func TestInDoubtExecWithoutCheckAsks(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "x" {
  action "exec" {
    command = ["sh", "-c", "echo x >> ran"]
    effect  = "restart"
  }
}
`)
	cfg := testConfig(t, dir, rb, inputs, p, nil)
	// A journal that stops after the intent: the process died in the action.
	runID := "20260101T000000Z-abcdef"
	os.MkdirAll(RunDir(cfg.StateDir, runID), 0o700)
	j, err := journal.Open(filepath.Join(RunDir(cfg.StateDir, runID), journal.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Append(journal.Record{Kind: journal.KindRun, RunID: runID, Runbook: cfg.RunbookName, SourceHash: p.Runbook.SourceHash, Instances: planAddrs(cfg.Plan)},
		journal.Record{Kind: journal.KindIntent, Addr: "step.x", Action: "exec", Attempt: 1})
	j.Close()

	cfg.Resume = true
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != journal.StatusPaused || len(res.InDoubt) != 1 {
		t.Fatalf("%+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("an in-doubt exec without a check ran again without the operator")
	}
	cfg.AssumeDone = []string{"step.x"}
	res, err = Run(context.Background(), cfg)
	if err != nil || res.Status != journal.StatusFinished {
		t.Fatalf("%v %+v", err, res)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("-assume-done ran the exec")
	}

	// -redo runs it.
	dir2 := t.TempDir()
	rb, inputs, p = planFor(t, dir2, `
step "x" {
  action "exec" {
    command = ["sh", "-c", "echo x >> ran"]
    effect  = "restart"
  }
}
`)
	cfg = testConfig(t, dir2, rb, inputs, p, nil)
	os.MkdirAll(RunDir(cfg.StateDir, runID), 0o700)
	j, _ = journal.Open(filepath.Join(RunDir(cfg.StateDir, runID), journal.FileName), nil)
	j.Append(journal.Record{Kind: journal.KindRun, RunID: runID, Runbook: cfg.RunbookName, Instances: planAddrs(cfg.Plan)},
		journal.Record{Kind: journal.KindIntent, Addr: "step.x", Action: "exec", Attempt: 1})
	j.Close()
	cfg.Resume, cfg.Redo = true, []string{"step.x"}
	res, err = Run(context.Background(), cfg)
	if err != nil || res.Status != journal.StatusFinished {
		t.Fatalf("%v %+v", err, res)
	}
	if data, _ := os.ReadFile(filepath.Join(dir2, "ran")); string(data) != "x\n" {
		t.Fatalf("-redo: ran = %q", data)
	}
}

// TestPauseThenResume: on_failure = pause stops the run; once the cause is
// fixed, resume runs the failed instance again from its preconditions.
func TestPauseThenResume(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "needs_fix" {
  on_failure = "pause"
  action "exec" {
    command = ["sh", "-c", "test -e fixed && echo ok >> ran"]
    effect  = "none"
  }
}
step "after" {
  depends_on = [step.needs_fix]
  action "exec" {
    command = ["touch", "after"]
    effect  = "none"
  }
}
`)
	cfg := testConfig(t, dir, rb, inputs, p, nil)
	res, err := Run(context.Background(), cfg)
	if err != nil || res.Status != journal.StatusPaused {
		t.Fatalf("%v %+v", err, res)
	}
	os.WriteFile(filepath.Join(dir, "fixed"), nil, 0o644)
	cfg.Resume = true
	res, err = Run(context.Background(), cfg)
	if err != nil || res.Status != journal.StatusFinished {
		t.Fatalf("resume: %v %+v", err, res)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "ran")); string(data) != "ok\n" {
		t.Fatalf("ran = %q", data)
	}
	if _, err := os.Stat(filepath.Join(dir, "after")); err != nil {
		t.Fatal("the step after the paused one did not run")
	}
}

func TestExecTimeoutAndEnv(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "env" {
  action "exec" {
    command = ["sh", "-c", "echo $GREETING > env.txt"]
    env     = { GREETING = "hi" }
    effect  = "none"
  }
}
step "slow" {
  depends_on = [step.env]
  action "exec" {
    command = ["sh", "-c", "sleep 5; touch slow-done"]
    timeout = "200ms"
    effect  = "none"
  }
}
`)
	t0 := time.Now()
	res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, nil))
	if err != nil || res.Status != journal.StatusFailed || len(res.Failed) != 1 || res.Failed[0] != "step.slow" {
		t.Fatalf("%v %+v", err, res)
	}
	if took := time.Since(t0); took > 3*time.Second {
		t.Errorf("the timed-out exec was not killed: the run took %s", took)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "env.txt")); string(data) != "hi\n" {
		t.Errorf("env.txt = %q", data)
	}
}

// TestDisruptiveRetryChecksPreconditions: every attempt of a disruptive
// action runs its preconditions first; the cluster may have changed while
// the previous attempt failed and the delay passed. A harmless action
// checks once.
func TestDisruptiveRetryChecksPreconditions(t *testing.T) {
	tests := map[string]struct {
		effect string
		want   int
	}{
		"restart checks before every attempt": {effect: "restart", want: 3},
		"none checks once":                    {effect: "none", want: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			rb, inputs, p := planFor(t, dir, `
step "flaky" {
  retry {
    attempts = 3
    delay    = "10ms"
  }
  precondition {
    condition     = true
    error_message = "never"
  }
  action "exec" {
    command = ["sh", "-c", "exit 1"]
    effect  = "`+tc.effect+`"
  }
}
`)
			ev := &eventLog{}
			res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, ev))
			if err != nil || res.Status != journal.StatusFailed {
				t.Fatalf("%v %+v", err, res)
			}
			n := 0
			for _, k := range ev.kinds("step.flaky") {
				if k == EventPrecondition {
					n++
				}
			}
			if n != tc.want {
				t.Errorf("preconditions evaluated %d times, want %d", n, tc.want)
			}
		})
	}
}

// TestRedoChecksPreconditions: -redo runs a disruptive action again, maybe
// hours after the crash; its preconditions must hold now, not only when
// the run started.
func TestRedoChecksPreconditions(t *testing.T) {
	dir := t.TempDir()
	src := `
variable "ok" {
  type    = bool
  default = true
}
step "x" {
  precondition {
    condition     = var.ok
    error_message = "not ok now"
  }
  action "exec" {
    command = ["sh", "-c", "echo x >> ran"]
    effect  = "stop"
  }
}
`
	rb, inputs, p := planFor(t, dir, src)
	cfg := testConfig(t, dir, rb, inputs, p, nil)
	runID := "20260101T000000Z-abcdef"
	os.MkdirAll(RunDir(cfg.StateDir, runID), 0o700)
	j, err := journal.Open(filepath.Join(RunDir(cfg.StateDir, runID), journal.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Append(journal.Record{Kind: journal.KindRun, RunID: runID, Runbook: cfg.RunbookName, SourceHash: p.Runbook.SourceHash, Instances: planAddrs(cfg.Plan)},
		journal.Record{Kind: journal.KindIntent, Addr: "step.x", Action: "exec", Attempt: 1})
	j.Close()
	_, inputs, _ = planFor(t, dir, src, "ok=false")
	cfg.Inputs = inputs
	cfg.Resume, cfg.Redo = true, []string{"step.x"}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != journal.StatusFailed {
		t.Errorf("status %s, want failed", res.Status)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Fatal("-redo ran a stop action whose precondition no longer holds")
	}
}

// TestJournalWriteErrorHalts: a record that cannot be written means resume
// would not know what happened; the run must start nothing more and fail,
// even when the failing record is one whose error used to be ignored (the
// failure record of an on_failure = continue step).
func TestJournalWriteErrorHalts(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "bad" {
  on_failure = "continue"
  action "exec" {
    command = ["sh", "-c", "exit 1"]
    effect  = "none"
  }
}
step "slow" {
  action "exec" {
    command = ["sh", "-c", "sleep 0.5"]
    effect  = "none"
  }
}
step "after" {
  depends_on = [step.slow]
  action "exec" {
    command = ["touch", "after"]
    effect  = "none"
  }
}
`)
	cfg := testConfig(t, dir, rb, inputs, p, nil)
	cfg.afterOpen = func(j *journal.Journal) {
		j.SetFault(func(r journal.Record) error {
			if r.Kind == journal.KindFailed && r.Addr == "step.bad" {
				return errors.New("injected: no space left on device")
			}
			return nil
		})
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "after")); err == nil {
		t.Error("a step started after the journal could not be written")
	}
	if res.JournalErr == nil || !strings.Contains(res.JournalErr.Error(), "no space left") {
		t.Errorf("JournalErr = %v", res.JournalErr)
	}
	if res.Status != journal.StatusFailed {
		t.Errorf("status %s, want failed", res.Status)
	}
}

// TestNullCommandElement: a null element in command or env is an error
// naming the argument; it used to be dropped, so ["touch", null, "x"] ran
// as `touch x`.
func TestNullCommandElement(t *testing.T) {
	tests := map[string]struct {
		attrs string
		want  string
	}{
		"command": {attrs: `command = ["touch", var.mid, "x"]`, want: "argument command: element 1 is null"},
		"env":     {attrs: "command = [\"touch\", \"x\"]\n    env = { A = var.mid }", want: "argument env: the value of A is null"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			rb, inputs, p := planFor(t, dir, `
variable "mid" {
  type    = string
  default = null
}
step "x" {
  action "exec" {
    `+tc.attrs+`
    effect = "none"
  }
}
`)
			res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, nil))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != journal.StatusFailed {
				t.Errorf("status %s, want failed", res.Status)
			}
			if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
				t.Error("the command ran without its null element")
			}
			recs, _ := journal.Read(filepath.Join(res.RunDir, journal.FileName))
			found := false
			for _, r := range recs {
				found = found || (r.Kind == journal.KindFailed && strings.Contains(r.Error, tc.want))
			}
			if !found {
				t.Errorf("no failure record saying %q", tc.want)
			}
		})
	}
}

// TestJournalWriteErrorStopsRetries: once a record could not be written,
// no further attempt of a running instance starts either.
func TestJournalWriteErrorStopsRetries(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "bad" {
  on_failure = "continue"
  action "exec" {
    command = ["sh", "-c", "exit 1"]
    effect  = "none"
  }
}
step "flaky" {
  retry {
    attempts = 3
    delay    = "300ms"
  }
  action "exec" {
    command = ["sh", "-c", "echo x >> tries; exit 1"]
    effect  = "none"
  }
}
`)
	cfg := testConfig(t, dir, rb, inputs, p, nil)
	cfg.afterOpen = func(j *journal.Journal) {
		j.SetFault(func(r journal.Record) error {
			if r.Kind == journal.KindFailed && r.Addr == "step.bad" {
				return errors.New("injected: I/O error")
			}
			return nil
		})
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "tries"))
	if n := strings.Count(string(data), "x"); n != 1 {
		t.Errorf("%d attempts ran, want 1 (none after the journal failed)", n)
	}
	if res.JournalErr == nil || res.Status != journal.StatusFailed {
		t.Errorf("%+v", res)
	}
}
