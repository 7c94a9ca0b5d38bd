package operation

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/planner"
)

// recordUI is an ApplyUI that answers the review with ok (a saved plan,
// reviewed when it was made, is never asked about, as the CLI does) and
// records what the operation told it.
type recordUI struct {
	ok bool

	mu       sync.Mutex
	reviewed bool
	saved    bool
	begun    bool
	ended    bool
	events   []executor.Event
	infos    []string
}

func (u *recordUI) Info(msg string) { u.mu.Lock(); u.infos = append(u.infos, msg); u.mu.Unlock() }
func (u *recordUI) Review(_ context.Context, _ *planner.Plan, saved bool) (bool, error) {
	u.reviewed, u.saved = true, saved
	return u.ok || saved, nil
}
func (u *recordUI) Begin(*planner.Plan) { u.begun = true }
func (u *recordUI) Event(e executor.Event) {
	u.mu.Lock()
	u.events = append(u.events, e)
	u.mu.Unlock()
}
func (u *recordUI) Approver() func(context.Context, string, string) (bool, error) { return nil }
func (u *recordUI) End()                                                          { u.ended = true }

const execRunbook = `runbook "op" {}
step "hello" {
  action "exec" {
    command = ["touch", "hello"]
    effect  = "none"
  }
}
`

func writeRunbook(t *testing.T) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "op.nrun.hcl")
	if err := os.WriteFile(path, []byte(execRunbook), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

func noEnv(string) string { return "" }

// TestApplyRuns: a runbook that needs no cluster is planned, reviewed and
// run; the UI sees the run begin, its events and its end.
func TestApplyRuns(t *testing.T) {
	dir, path := writeRunbook(t)
	ui := &recordUI{ok: true}
	res := Apply(context.Background(), ApplyRequest{Path: path, Getenv: noEnv}, ui)
	if res.Outcome != Ran || res.Run == nil || res.Run.Status != journal.StatusFinished {
		t.Fatalf("outcome %v, err %v, diags %v, run %+v", res.Outcome, res.Err, res.Diags, res.Run)
	}
	if !ui.reviewed || ui.saved || !ui.begun || !ui.ended || len(ui.events) == 0 {
		t.Errorf("ui: %+v", ui)
	}
	if _, err := os.Stat(filepath.Join(dir, "hello")); err != nil {
		t.Error("the step did not run")
	}
}

// TestApplyCancelled: a review that says no runs nothing and takes no lock.
func TestApplyCancelled(t *testing.T) {
	dir, path := writeRunbook(t)
	res := Apply(context.Background(), ApplyRequest{Path: path, Getenv: noEnv}, &recordUI{ok: false})
	if res.Outcome != Cancelled {
		t.Fatalf("outcome %v, want Cancelled", res.Outcome)
	}
	if _, err := os.Stat(filepath.Join(dir, ".nrun")); !os.IsNotExist(err) {
		t.Errorf("a cancelled apply created the state directory: %v", err)
	}
}

// TestApplySavedPlan: a plan file made by Plan is applied without asking
// (it was reviewed), and an empty one is refused before anything runs.
func TestApplySavedPlan(t *testing.T) {
	dir, path := writeRunbook(t)
	out := filepath.Join(dir, "op.nrunplan")
	pr := Plan(context.Background(), PlanRequest{Path: path, Out: out, Getenv: noEnv})
	if pr.Plan == nil {
		t.Fatalf("plan: %v", pr.Diags)
	}
	ui := &recordUI{ok: false}
	res := Apply(context.Background(), ApplyRequest{Path: out, Getenv: noEnv}, ui)
	if res.Outcome != Ran || !res.Saved || !ui.saved {
		t.Fatalf("outcome %v, saved %v/%v, err %v", res.Outcome, res.Saved, ui.saved, res.Err)
	}

	empty := filepath.Join(dir, "empty.nrunplan")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	res = Apply(context.Background(), ApplyRequest{Path: empty, Getenv: noEnv}, &recordUI{ok: true})
	if res.Outcome != Failed || res.Err == nil || !strings.Contains(res.Err.Error(), "is empty") {
		t.Fatalf("empty plan file: outcome %v, err %v", res.Outcome, res.Err)
	}
}

// TestPlanInventoryRefusesDamage: an inventory file nrun inventory never
// writes is refused with a sentence that says how to get a good one.
func TestPlanInventoryRefusesDamage(t *testing.T) {
	dir, path := writeRunbook(t)
	inv := filepath.Join(dir, "inv.json")
	if err := os.WriteFile(inv, []byte(`{"nomad":{"raft":{"servers":[null]}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	res := Plan(context.Background(), PlanRequest{Path: path, Inventory: inv, Getenv: noEnv})
	if res.Plan != nil || !res.Diags.HasErrors() || !strings.Contains(res.Diags.Error(), "nrun inventory -out") {
		t.Fatalf("plan %v, diags %v", res.Plan, res.Diags)
	}
}

// TestResumeSettledBeforeCluster: a resume finds out which run it
// continues before it reads the cluster, so an abandoned run is refused
// as abandoned (exit 1) and a finished one has nothing to resume (exit
// 0) even while the cluster does not answer (here nothing listens at its
// address), instead of failing on the cluster.
func TestResumeSettledBeforeCluster(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "op.nrun.hcl")
	write := func(src string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`runbook "op" {}
step "fails" {
  action "exec" {
    command = ["false"]
    effect  = "none"
  }
}
`)
	res := Apply(context.Background(), ApplyRequest{Path: path, Getenv: noEnv}, &recordUI{ok: true})
	if res.Outcome != Ran || res.Run == nil || res.Run.Status != journal.StatusFailed {
		t.Fatalf("first run: outcome %v, err %v, run %+v", res.Outcome, res.Err, res.Run)
	}
	if _, err := Abandon(context.Background(), AbandonRequest{Path: path, RunID: res.Run.RunID, Getenv: noEnv}, func(string) {}); err != nil {
		t.Fatal(err)
	}
	// The runbook now reads a cluster that does not answer.
	write(`runbook "op" {}
nomad {
  address = "http://127.0.0.1:1"
}
step "fails" {
  precondition "quorum_ok" {}
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
`)
	for _, runID := range []string{"", res.Run.RunID} {
		r := Apply(context.Background(), ApplyRequest{Path: path, Resume: true, RunID: runID, Getenv: noEnv}, &recordUI{ok: true})
		if r.Outcome != Failed || r.Err == nil || !strings.Contains(r.Err.Error(), "abandoned") || !errors.Is(r.Err, executor.ErrAbandoned) {
			t.Errorf("resume -run %q of the abandoned run: outcome %v, err %v, diags %v", runID, r.Outcome, r.Err, r.Diags)
		}
	}
	// Without the abandoned run's marker, the newest run is a finished one.
	write(execRunbook)
	if r := Apply(context.Background(), ApplyRequest{Path: path, Getenv: noEnv}, &recordUI{ok: true}); r.Outcome != Ran || r.Run.Status != journal.StatusFinished {
		t.Fatalf("second run: outcome %v, err %v", r.Outcome, r.Err)
	}
	write(strings.Replace(execRunbook, `runbook "op" {}`, "runbook \"op\" {}\nnomad {\n  address = \"http://127.0.0.1:1\"\n}\n", 1))
	r := Apply(context.Background(), ApplyRequest{Path: path, Resume: true, Getenv: noEnv}, &recordUI{ok: true})
	if r.Outcome != NothingToResume || !errors.Is(r.Err, executor.ErrFinished) {
		t.Errorf("resume after a finished run: outcome %v, err %v, diags %v", r.Outcome, r.Err, r.Diags)
	}
}
