package operation

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nrun-dev/nrun/acl"
	"github.com/nrun-dev/nrun/backend"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planfile"
	"github.com/nrun-dev/nrun/planner"
)

// ApplyRequest is `nrun apply`: the runbook or saved plan file at Path.
type ApplyRequest struct {
	Path   string
	Inputs Inputs
	// StateDir holds the lock and the runs; "" means .nrun next to the
	// runbook (executor.StateDirFor).
	StateDir string

	Resume     bool
	RunID      string
	Approve    []string
	AssumeDone []string
	Redo       []string

	LockTimeout time.Duration
	// Backend picks where the lock and the runs live (-backend); the
	// runbook's backend block, else local, when empty.
	Backend BackendChoice
	// Heartbeat is the interval of heartbeat events; see executor.Config.
	Heartbeat time.Duration
	// PreviewTerraform runs Terraform's plan for the plan shown before the
	// question (a person reads it; a program under -json does not).
	PreviewTerraform bool
	// Env are extra KEY=value entries for exec commands and terraform
	// (the sandbox's).
	Env []string
	// Getenv reads the cluster settings and the tokens to redact.
	Getenv func(string) string
	// Stop asks for a graceful stop: nothing new starts. Cancelling the
	// context passed to Apply stops at once.
	Stop <-chan struct{}
}

// ApplyUI is how an apply operation talks to the operator. The CLI
// implements it with views; every method is called from the operation's
// goroutine except Event and Approve, which the executor may call from
// several.
type ApplyUI interface {
	// Info tells the operator something that is not an event of the run
	// (a stale lock removed, waiting for the lock).
	Info(msg string)
	// Review shows the plan about to run and reports whether to go on.
	// saved is set when the plan comes from a plan file, which was
	// reviewed when it was made. It is not called on resume.
	Review(ctx context.Context, p *planner.Plan, saved bool) (bool, error)
	// Begin is called once the lock is held, right before the run starts.
	Begin(p *planner.Plan)
	// Event reports an event of the run.
	Event(e executor.Event)
	// Approver returns what asks the operator to approve an approval
	// step; nil means nobody can be asked, and the run pauses there.
	Approver() func(ctx context.Context, addr, msg string) (bool, error)
	// End is called after the run, whether it ran or not once Begin was.
	End()
}

// Outcome says how an apply operation ended. The CLI maps it, and a run's
// status, to an exit code.
type Outcome int

// Outcomes.
const (
	// Failed: nothing ran; Diags or Err say why.
	Failed Outcome = iota
	// Cancelled: the operator did not confirm.
	Cancelled
	// NothingToResume: -resume found the last run finished (Err says so).
	NothingToResume
	// Ran: the executor ran; Run says how it ended.
	Ran
)

// ApplyResult is what an apply operation produced.
type ApplyResult struct {
	Outcome Outcome
	// Runbook is nil when it did not load.
	Runbook *lang.Runbook
	// RunbookPath is the runbook's path (from the plan file when Path is
	// one), for the commands printed afterwards.
	RunbookPath string
	// Saved is set when Path was a plan file.
	Saved bool
	Diags hcl.Diagnostics
	// Err is a problem with no source (a plan file, the lock, the state
	// directory), in a sentence that says what to do.
	Err error
	// Run is the executor's result when Outcome is Ran.
	Run *executor.Result
}

// IsPlanFile reports whether path is to be read as a saved plan rather
// than a runbook file or directory (planfile.Sniff: a plan file, or an
// empty, truncated or JSON file, which then is refused with a reason
// instead of being applied as a runbook that does nothing).
func IsPlanFile(path string) bool {
	return !strings.HasSuffix(path, lang.FileSuffix) && planfile.Sniff(path)
}

// Apply plans the runbook again against the live cluster (checking a saved
// plan against it), has the UI review it, takes the state lock and runs the
// executor.
func Apply(ctx context.Context, req ApplyRequest, ui ApplyUI) *ApplyResult {
	res := &ApplyResult{RunbookPath: req.Path}
	failf := func(format string, args ...any) *ApplyResult {
		res.Outcome, res.Err = Failed, fmt.Errorf(format, args...)
		return res
	}
	fail := func(diags hcl.Diagnostics) *ApplyResult {
		res.Outcome, res.Diags = Failed, diags
		return res
	}

	// The runbook, its inputs, and with a plan file the saved plan.
	var saved *planner.Plan
	runbookPath := req.Path
	if IsPlanFile(req.Path) {
		if req.Resume {
			return failf("-resume takes the runbook PATH, not a plan file")
		}
		var err error
		if saved, err = planfile.Read(req.Path); err != nil {
			return failf("%v", err)
		}
		if len(saved.Runbook.Paths) == 0 {
			return failf("the plan %s names no runbook files", req.Path)
		}
		runbookPath = saved.Runbook.Paths[0]
		if len(saved.Runbook.Paths) > 1 {
			runbookPath = filepath.Dir(runbookPath)
		}
		res.Saved = true
	}
	res.RunbookPath = runbookPath
	rb, diags := lang.Load(runbookPath)
	res.Runbook = rb
	if rb == nil || diags.HasErrors() {
		return fail(diags)
	}
	inputs, d := req.Inputs.values(rb)
	diags = append(diags, d...)
	if saved != nil {
		// The plan's clear values, the sensitive ones given again; every
		// value must hash to what the plan was made with.
		clear, err := saved.SavedInputs()
		if err != nil {
			return failf("the plan %s: %v", req.Path, err)
		}
		for k, v := range inputs {
			clear[k] = v
		}
		inputs = clear
		diags = append(diags, saved.CheckInputs(rb, inputs)...)
	}
	if diags.HasErrors() {
		return fail(diags)
	}
	if saved != nil && planner.NeedsCluster(rb) && saved.Fingerprint.Nomad == nil && saved.Fingerprint.Consul == nil {
		return failf("the plan %s records no cluster fingerprint, but the runbook reads or changes a cluster, so nrun cannot tell whether the cluster changed since the plan was made. Make a new plan with 'nrun plan -out'.", req.Path)
	}

	stateDir := req.StateDir
	if stateDir == "" {
		stateDir = executor.StateDirFor(runbookPath)
	}
	// A backend in the cluster is locked before anything is read or
	// planned: the plan is made by the only nrun that may run it.
	bcfg, err := BackendConfig(rb, runbookPath, req.Backend, inputs, stateDir, req.Getenv)
	if err != nil {
		return failf("%v", err)
	}
	absRunbook, _ := filepath.Abs(runbookPath)
	// A resume settles which run it continues before it reads the
	// cluster: a finished, abandoned or damaged run is refused as what it
	// is, even while the cluster has no leader. (A backend's runs are
	// read under its lock, below; the executor asks again under the
	// state directory's lock.)
	if req.Resume && bcfg.Kind == backend.Local {
		if _, err := executor.ResumeTarget(stateDir, absRunbook, req.RunID); err != nil {
			return refuseResume(res, err)
		}
	}
	var be backend.Backend
	var block backend.Lock
	// The tokens are checked against what the runbook and the backend
	// need before the lock is taken: a token that cannot keep the lock
	// or the runs is named as such, not as a refused write.
	var toks []checkedToken
	if bneeds := acl.BackendNeeds(string(bcfg.Kind), bcfg.Path); planner.NeedsCluster(rb) || len(bneeds) > 0 {
		var pd hcl.Diagnostics
		toks, pd = preflight(ctx, rb, inputs, req.Getenv, bneeds)
		diags = append(diags, pd...)
		if pd.HasErrors() {
			return fail(diags)
		}
	}
	if bcfg.Kind != backend.Local {
		if be, err = backend.Open(bcfg); err != nil {
			return failf("%v", err)
		}
		ui.Info("backend: " + be.Where())
		if BackendDisrupted(rb, be.Kind()) {
			ui.Info("warning: " + DisruptedWarning(be))
		}
		block, err = be.Lock(ctx, "apply", backend.LockOptions{
			Timeout: req.LockTimeout,
			Waiting: func(e *backend.LockedError) {
				ui.Info(fmt.Sprintf("%s; waiting up to %s for it (-lock-timeout)", strings.TrimSuffix(firstLine(e.Error()), "."), req.LockTimeout))
			},
			Unavailable: func(err error) {
				ui.Info(fmt.Sprintf("%s does not answer (%v); waiting for it (up to %s, NRUN_BACKEND_WAIT)", be.Where(), err, max(bcfg.WriteWait, req.LockTimeout)))
			},
		})
		if err != nil {
			return failf("%v", err)
		}
		defer block.Release()
	}
	// The state directory's lock: a resume takes it now (there is no
	// review to wait for) and, with a backend, fetches the run it
	// continues before it reads the cluster.
	lockState := func() (*executor.Lock, error) {
		return executor.AcquireLock(ctx, stateDir, "apply", executor.LockOptions{
			Timeout: req.LockTimeout,
			Stale: func(l executor.LockInfo) {
				ui.Info(fmt.Sprintf("removing the stale lock %s of pid %d on %s (that process no longer runs and holds no flock on it)", l.ID, l.PID, l.Host))
			},
			Waiting: func(e *executor.LockedError) {
				ui.Info(fmt.Sprintf("the state directory is locked by %s (lock %s, pid %d on %s); waiting up to %s for it (-lock-timeout)", e.Info.Who, e.Info.ID, e.Info.PID, e.Info.Host, req.LockTimeout))
			},
		})
	}
	var lock *executor.Lock
	runID := req.RunID
	if req.Resume {
		if lock, err = lockState(); err != nil {
			return failf("%v", err)
		}
		defer lock.Release()
		if be != nil {
			if runID, err = prepareRemoteRun(ctx, be, stateDir, true, req.RunID); err != nil {
				return refuseResume(res, err)
			}
		}
	}

	var view *cluster.View
	if planner.NeedsCluster(rb) {
		vctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		var vd hcl.Diagnostics
		view, vd = planner.LiveView(vctx, rb, inputs, req.Getenv)
		cancel()
		diags = append(diags, vd...)
		if vd.HasErrors() {
			return fail(diags)
		}
	}
	if saved != nil {
		if planner.NeedsCluster(rb) {
			if sd := planner.CheckStale(saved, view, planner.RunbookSourceHash(rb)); sd.HasErrors() {
				res.Err = fmt.Errorf("the saved plan %s no longer matches the runbook or the cluster; make a new plan with 'nrun plan -out'", req.Path)
				return fail(sd)
			}
		} else if h := planner.RunbookSourceHash(rb); h != saved.Runbook.SourceHash {
			// No cluster to compare: only the runbook can have changed.
			// (The plan may record a cluster it read; this runbook needs
			// none, so that part is not compared.)
			return failf("the runbook changed since the plan %s was made (source hash %s, now %s); make a new plan with 'nrun plan -out'.", req.Path, saved.Runbook.SourceHash, h)
		}
	}
	// The plan executed is always made here, from the runbook and the
	// live view, with the whole safety analysis. A saved plan only has to
	// describe the same work: its ordering, timeouts and targets are never
	// taken from the file.
	p, pd := planner.Resolve(rb, inputs, view, planner.ResolveOptions{})
	diags = append(diags, pd...)
	if diags.HasErrors() {
		return fail(diags)
	}
	recordIdentities(toks, p)
	if ed := tokenExpiry(toks, p, time.Now()); ed.HasErrors() {
		return fail(append(diags, ed...))
	}
	if saved != nil && executor.PlanStructure(saved) != executor.PlanStructure(p) {
		return failf("the plan %s does not describe what the runbook does now (its instances, ordering, actions or targets differ from a plan made now; the file may have been edited). Make a new plan with 'nrun plan -out', review it and apply that one.", req.Path)
	}
	// Jobs are registered with the JobModifyIndex of the preview the
	// operator reviewed: the saved plan's, else the one shown now.
	if saved != nil {
		planner.CopyJobPreviews(p, saved)
	} else if jd := previewJobs(ctx, req.Getenv, rb, inputs, p, runbookPath, false); jd.HasErrors() {
		return fail(append(diags, jd...))
	}
	res.Diags = diags

	if !req.Resume {
		if saved == nil && req.PreviewTerraform {
			// The plan shown before asking carries Terraform's own
			// summary, as nrun plan shows it. A saved plan was reviewed
			// with its own.
			previewTerraform(ctx, rb, inputs, p, view, runbookPath, false)
		}
		ok, err := ui.Review(ctx, p, saved != nil)
		if err != nil {
			return failf("%v", err)
		}
		if !ok {
			res.Outcome = Cancelled
			return res
		}
	}

	if lock == nil {
		if lock, err = lockState(); err != nil {
			return failf("%v", err)
		}
		defer lock.Release()
	}
	if be != nil && !req.Resume {
		if runID, err = prepareRemoteRun(ctx, be, stateDir, false, req.RunID); err != nil {
			return failf("%v", err)
		}
	}
	var cl *cluster.Client
	if cfg, cd := planner.ClusterConfig(rb, inputs); view != nil && !cd.HasErrors() {
		cl, _ = cluster.New(cfg, cluster.WithGetenv(req.Getenv))
	}
	ui.Begin(p)
	defer ui.End()
	cfg := executor.Config{
		Runbook: rb, Inputs: inputs, Plan: p, Cluster: cl, StateDir: stateDir, BaseDir: BaseDir(absRunbook),
		RunbookName: absRunbook, Resume: req.Resume, RunID: runID,
		Approve: req.Approve, AssumeDone: req.AssumeDone, Redo: req.Redo,
		Events: ui.Event, Approver: ui.Approver(), Stop: req.Stop, Lock: lock, Heartbeat: req.Heartbeat,
		Secrets: []string{req.Getenv("NOMAD_TOKEN"), req.Getenv("CONSUL_HTTP_TOKEN")},
		Env:     req.Env,
	}
	if be != nil {
		cfg.Guard = block
		cfg.OpenMirror = mirrorOpener(ctx, be, block)
	}
	// The plan's scope: the data sources were filled once, from the view
	// read above, and the run evaluates in the same values.
	cfg.Scope = p.Scope()
	run, err := executor.Run(ctx, cfg)
	if err != nil {
		return refuseResume(res, err)
	}
	res.Outcome, res.Run = Ran, run
	if be != nil && run.Status == journal.StatusFinished && run.Stopped == nil {
		if err := backend.Prune(ctx, be); err != nil {
			ui.Info(fmt.Sprintf("could not remove old runs from %s: %v", be.Where(), err))
		}
	}
	return res
}

// refuseResume ends an apply that did not run: a resume of a finished
// run has nothing to do (exit 0); every other refusal, an abandoned or
// damaged run among them, fails.
func refuseResume(res *ApplyResult, err error) *ApplyResult {
	res.Outcome, res.Err = Failed, err
	if errors.Is(err, executor.ErrFinished) {
		res.Outcome = NothingToResume
	}
	return res
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
