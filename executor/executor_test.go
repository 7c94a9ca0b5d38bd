package executor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

// planFor parses src as a runbook file in dir and resolves it without a
// cluster (the runbook must not read data sources).
func planFor(t testing.TB, dir, src string, vars ...string) (*lang.Runbook, map[string]cty.Value, *planner.Plan) {
	t.Helper()
	path := filepath.Join(dir, "main.nrun.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	rb, diags := lang.Load(path)
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags.Error())
	}
	inputs, diags := lang.InputValues(rb, vars, nil)
	if diags.HasErrors() {
		t.Fatalf("inputs: %s", diags.Error())
	}
	p, diags := planner.Resolve(rb, inputs, nil, planner.ResolveOptions{})
	if diags.HasErrors() {
		t.Fatalf("resolve: %s", diags.Error())
	}
	return rb, inputs, p
}

type eventLog struct {
	mu sync.Mutex
	ev []Event
}

func (l *eventLog) add(e Event) { l.mu.Lock(); l.ev = append(l.ev, e); l.mu.Unlock() }

func (l *eventLog) kinds(addr string) []EventKind {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []EventKind
	for _, e := range l.ev {
		if e.Addr == addr {
			out = append(out, e.Kind)
		}
	}
	return out
}

func testConfig(t testing.TB, dir string, rb *lang.Runbook, inputs map[string]cty.Value, p *planner.Plan, ev *eventLog) Config {
	cfg := Config{Runbook: rb, Inputs: inputs, Plan: p, StateDir: filepath.Join(dir, ".nrun"), BaseDir: dir,
		RunbookName: filepath.Join(dir, "main.nrun.hcl"), PollMin: 50 * time.Millisecond}
	if ev != nil {
		cfg.Events = ev.add
	}
	return cfg
}

func TestRunExecAndSleep(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "a" {
  action "exec" {
    command = ["sh", "-c", "echo hello-from-a"]
    effect  = "none"
  }
}
step "b" {
  for_each = toset(["x", "y", "z"])
  max_parallel = 2
  depends_on = [step.a]
  action "sleep" {
    duration = "20ms"
  }
}
step "c" {
  depends_on = [step.b]
  action "exec" {
    command = ["sh", "-c", "echo ${trimspace(step.a.output)} >> out.txt"]
    effect  = "none"
  }
}
`)
	ev := &eventLog{}
	res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, ev))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != journal.StatusFinished || len(res.Finished) != 5 {
		t.Fatalf("result %+v", res)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "out.txt"))
	if strings.TrimSpace(string(out)) != "hello-from-a" {
		t.Errorf("step.a.output not passed on: %q", out)
	}
	recs, err := journal.Read(filepath.Join(res.RunDir, journal.FileName))
	if err != nil {
		t.Fatal(err)
	}
	st := journal.Replay(recs)
	for _, a := range []string{"step.a", `step.b["x"]`, `step.b["y"]`, `step.b["z"]`, "step.c"} {
		if st.Instances[a] == nil || st.Instances[a].Phase != journal.PhaseFinished {
			t.Errorf("%s not finished in the journal: %+v", a, st.Instances[a])
		}
	}
	if st.Unfinished() {
		t.Error("run not marked finished")
	}
	log, _ := os.ReadFile(filepath.Join(res.RunDir, LogFile))
	if !strings.Contains(string(log), "hello-from-a") {
		t.Errorf("exec output missing from the audit log:\n%s", log)
	}
}

// TestCompositeMaxParallel: max_parallel on a composite bounds whole inner
// sequences, and the inner steps of one instance run in their own order.
func TestCompositeMaxParallel(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "seq" {
  for_each     = toset(["a", "b", "c", "d", "e"])
  max_parallel = 2
  step "first" {
    action "exec" {
      command = ["sh", "-c", "echo start ${each.key} >> log; sleep 0.05"]
      effect  = "none"
    }
  }
  step "second" {
    depends_on = [step.first]
    action "exec" {
      command = ["sh", "-c", "sleep 0.05; echo end ${each.key} >> log"]
      effect  = "none"
    }
  }
}
`)
	res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, nil))
	if err != nil || res.Status != journal.StatusFinished || len(res.Finished) != 10 {
		t.Fatalf("%v %+v", err, res)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "log"))
	running, most := 0, 0
	started := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		switch f[0] {
		case "start":
			running++
			started[f[1]] = true
		case "end":
			if !started[f[1]] {
				t.Errorf("%s ended before it started: inner order broken", f[1])
			}
			running--
		}
		if running > most {
			most = running
		}
	}
	if most != 2 {
		t.Errorf("at most %d sequences ran at once, want exactly max_parallel = 2:\n%s", most, data)
	}
}

// TestRejectedPlanLeavesNoRun: a plan the executor refuses must not leave
// a run directory with a header behind; status and -resume would show it
// as an unfinished run that never started.
func TestRejectedPlanLeavesNoRun(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "a" {
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
`)
	p.Instances[0].Inner = []string{"step.nope"}
	cfg := testConfig(t, dir, rb, inputs, p, nil)
	if _, err := Run(context.Background(), cfg); err == nil {
		t.Fatal("a plan naming an inner instance it does not hold was accepted")
	}
	runs, _ := filepath.Glob(filepath.Join(cfg.StateDir, "*", "*", journal.FileName))
	more, _ := filepath.Glob(filepath.Join(cfg.StateDir, "*", journal.FileName))
	if len(runs)+len(more) > 0 {
		t.Errorf("a rejected plan left a journal: %v %v", runs, more)
	}
}
