package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
	"github.com/nrun-dev/nrun/views"
)

func init() {
	register(&command{Name: "apply", Synopsis: "Apply a runbook (or a saved plan) to the cluster, with checkpoints", Run: runApply})
}

const applyHelp = `Usage: nrun apply [options] PATH
       nrun apply [options] PLANFILE
       nrun apply -resume [options] PATH
       nrun apply -abandon RUN-ID [-state-dir DIR] [PATH]

  Plans the runbook at PATH against the live cluster, shows the plan, asks
  for 'yes' (without a terminal, -auto-approve is required), then runs it:
  each step instance as soon as what it depends on has finished, up to the
  step's max_parallel; preconditions are checked on the live cluster right
  before each action; waits follow the cluster with blocking queries.

  PLANFILE is a plan saved by 'nrun plan -out'. It is refused when the
  runbook or the cluster has changed since it was made.

  Every run has a journal and an audit log under STATE/runs/RUN-ID/; STATE
  is .nrun next to the runbook unless -state-dir is given. One apply per
  state directory runs at a time. After a crash, a Ctrl-C, a failure or a
  pause, 'nrun apply -resume PATH' continues the last unfinished run:
  finished instances are skipped; an instance interrupted during its action
  is re-checked (a drain already set, a peer already gone, an exec check
  command); when nothing can tell whether the action happened, apply stops
  and asks: resume again with -assume-done ADDR or -redo ADDR.

  Ctrl-C once: nothing new starts, running actions finish (waits stop at
  once), the journal is checkpointed, apply exits 130 and prints the resume
  command. Twice: stop at once; the journal stays consistent.

Options:

  -auto-approve       Do not ask for 'yes' before applying.
  -sandbox            Run against the local sandbox: start it (3 Nomad
                      servers on the old pinned version, 2 clients running
                      a demo job, 3 Consul servers; the agents are built
                      on first use) or reuse the one in $NRUN_SANDBOX_DIR
                      (default .nrun/sandbox), and point NOMAD_ADDR,
                      CONSUL_HTTP_ADDR and exec commands at it. Without
                      -var and -var-file, the runbook directory's
                      sandbox.nrunvars.hcl is read.
  -var 'NAME=VALUE'   Set an input variable. Repeatable.
  -var-file FILE      Read input variables from an HCL file. Repeatable.
  -state-dir DIR      State directory (lock, runs). Default: .nrun next to
                      the runbook.
  -json               Print one JSON event per line instead of text.
  -no-color           Disable colour.
  -resume             Continue the last unfinished run of the runbook.
  -run ID             With -resume: the run to continue.
  -approve ADDR       With -resume: approve the paused approval step ADDR.
                      Repeatable.
  -assume-done ADDR   With -resume: the in-doubt action of ADDR did happen.
  -redo ADDR          With -resume: run the in-doubt action of ADDR again.
  -abandon RUN-ID     Give run RUN-ID up for good, after settling by hand
                      what it did: record who abandoned it and when (in
                      the journal when it is readable, and in
                      abandoned.json in the run directory). An abandoned
                      run is never resumed and no longer blocks new runs.
                      This is how to get past a run whose journal cannot
                      be read. Nothing else is done.

Output: a progress display on a terminal, timestamped lines otherwise,
JSON lines with -json. The full audit log (with command output) is
STATE/runs/RUN-ID/run.log; secrets (NOMAD_TOKEN, CONSUL_HTTP_TOKEN,
sensitive variables) never appear in the journal, the log or the output.

Exit codes:
  0    every step instance finished
  1    error: invalid runbook, unreadable cluster, stale plan, state
       directory locked, a step failed, not approved, or bad usage
  3    paused: an approval or an in-doubt action waits for the operator
       (the resume command is printed)
  130  interrupted by Ctrl-C (the resume command is printed)
`

const exitPaused = 3

type applyArgs struct {
	AutoApprove bool
	Sandbox     bool
	Vars        []string
	VarFiles    []string
	StateDir    string
	JSON        bool
	NoColor     bool
	Resume      bool
	RunID       string
	Approve     []string
	AssumeDone  []string
	Redo        []string
	Abandon     string
	Path        string
}

func parseApplyArgs(args []string) (applyArgs, error) {
	var a applyArgs
	fs := newFlagSet("apply")
	fs.BoolVar(&a.AutoApprove, "auto-approve", false, "")
	fs.BoolVar(&a.Sandbox, "sandbox", false, "")
	fs.Var((*varFlag)(&a.Vars), "var", "")
	fs.Var((*repeated)(&a.VarFiles), "var-file", "")
	fs.StringVar(&a.StateDir, "state-dir", "", "")
	fs.BoolVar(&a.JSON, "json", false, "")
	fs.BoolVar(&a.NoColor, "no-color", false, "")
	fs.BoolVar(&a.Resume, "resume", false, "")
	fs.StringVar(&a.RunID, "run", "", "")
	fs.Var((*repeated)(&a.Approve), "approve", "")
	fs.Var((*repeated)(&a.AssumeDone), "assume-done", "")
	fs.Var((*repeated)(&a.Redo), "redo", "")
	fs.StringVar(&a.Abandon, "abandon", "", "")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	switch fs.NArg() {
	case 0:
		a.Path = "."
	case 1:
		a.Path = fs.Arg(0)
	default:
		return a, fmt.Errorf("apply takes one PATH, got %d", fs.NArg())
	}
	if !a.Resume && (a.RunID != "" || len(a.Approve) > 0 || len(a.AssumeDone) > 0 || len(a.Redo) > 0) {
		return a, errors.New("-run, -approve, -assume-done and -redo go with -resume")
	}
	return a, nil
}

// isPlanFile reports whether path is a saved plan (a JSON file) rather
// than a runbook file or directory.
func isPlanFile(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || fi.IsDir() || strings.HasSuffix(path, ".nrun.hcl") {
		return false
	}
	b, err := os.ReadFile(path)
	return err == nil && len(bytes.TrimSpace(b)) > 0 && bytes.TrimSpace(b)[0] == '{'
}

func runApply(s *streams, args []string) int {
	a, err := parseApplyArgs(args)
	if err != nil {
		return usageError(s, "apply", applyHelp, err)
	}
	if a.Abandon != "" {
		return runAbandon(s, a)
	}
	dopts := views.DiagnosticsOptions{Color: diagColor(s, a.NoColor), Width: views.DiagnosticWidth}
	var rb *lang.Runbook
	fail := func(diags hcl.Diagnostics) int {
		files := varValueFiles(a.Vars)
		if rb != nil {
			for name, f := range rb.Files {
				files[name] = f
			}
		}
		views.Diagnostics(s.Stderr, diags, withSources(files, diags), dopts)
		return exitError
	}
	errf := func(format string, args ...any) int {
		fmt.Fprintf(s.Stderr, "nrun apply: "+format+"\n", args...)
		return exitError
	}

	var sandboxEnv map[string]string
	if a.Sandbox {
		sctx, sstop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		env, err := applySandbox(sctx, s)
		sstop()
		if err != nil {
			return errf("the sandbox: %v", err)
		}
		sandboxEnv = env
		s = withEnv(s, env)
		if len(a.Vars) == 0 && len(a.VarFiles) == 0 && !isPlanFile(a.Path) {
			if f := sandboxVars(a.Path); f != "" {
				fmt.Fprintf(s.Stderr, "nrun apply: reading variables from %s\n", f)
				a.VarFiles = append(a.VarFiles, f)
			}
		}
	}

	// The runbook, its inputs, and with a plan file the saved plan.
	var saved *planner.Plan
	runbookPath := a.Path
	if isPlanFile(a.Path) {
		if a.Resume {
			return errf("-resume takes the runbook PATH, not a plan file")
		}
		b, err := os.ReadFile(a.Path)
		if err != nil {
			return errf("%v", err)
		}
		saved, err = loadPlanFile(b)
		if err != nil {
			return errf("%s is not a plan saved by 'nrun plan -out': %v; make a new plan with 'nrun plan -out'", a.Path, err)
		}
		if len(saved.Runbook.Paths) == 0 {
			return errf("the plan %s names no runbook files", a.Path)
		}
		runbookPath = saved.Runbook.Paths[0]
		if len(saved.Runbook.Paths) > 1 {
			runbookPath = filepath.Dir(runbookPath)
		}
	}
	rb, diags := lang.Load(runbookPath)
	if rb == nil || diags.HasErrors() {
		return fail(diags)
	}
	inputs, d := lang.InputValues(rb, a.Vars, a.VarFiles)
	diags = append(diags, d...)
	if saved != nil {
		// The plan's clear values, the sensitive ones given again; every
		// value must hash to what the plan was made with.
		clear, err := saved.SavedInputs()
		if err != nil {
			return errf("the plan %s: %v", a.Path, err)
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

	if fp := saved; fp != nil && planner.NeedsCluster(rb) && fp.Fingerprint.Nomad == nil && fp.Fingerprint.Consul == nil {
		return errf("the plan %s records no cluster fingerprint, but the runbook reads or changes a cluster, so nrun cannot tell whether the cluster changed since the plan was made. Make a new plan with 'nrun plan -out'.", a.Path)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	var interrupted sync.Once
	go func() {
		n := 0
		for range sigs {
			n++
			if n == 1 {
				interrupted.Do(func() { close(stop) })
				fmt.Fprintln(s.Stderr, "\nnrun apply: stopping: nothing new starts; running actions finish. Press Ctrl-C again to stop at once.")
				continue
			}
			fmt.Fprintln(s.Stderr, "\nnrun apply: stopping at once.")
			cancel()
			return
		}
	}()

	var view *cluster.View
	if planner.NeedsCluster(rb) {
		vctx, vcancel := context.WithTimeout(ctx, 2*time.Minute)
		var vd hcl.Diagnostics
		view, vd = planner.LiveView(vctx, rb, inputs, s.Getenv)
		vcancel()
		diags = append(diags, vd...)
		if vd.HasErrors() {
			return fail(diags)
		}
	}
	if saved != nil {
		stale := "nrun apply: the saved plan %s no longer matches the runbook or the cluster; make a new plan with 'nrun plan -out'.\n\n"
		if planner.NeedsCluster(rb) {
			if sd := planner.CheckStale(saved, view, planner.RunbookSourceHash(rb)); sd.HasErrors() {
				fmt.Fprintf(s.Stderr, stale, a.Path)
				return fail(sd)
			}
		} else if h := planner.RunbookSourceHash(rb); h != saved.Runbook.SourceHash {
			// No cluster to compare: only the runbook can have changed.
			// (The plan may record a cluster it read; this runbook needs
			// none, so that part is not compared.)
			return errf("the runbook changed since the plan %s was made (source hash %s, now %s); make a new plan with 'nrun plan -out'.", a.Path, saved.Runbook.SourceHash, h)
		}
	}
	// The plan executed is always made here, from the runbook and the
	// live view. A saved plan only has to describe the same work: its
	// ordering, timeouts and targets are never taken from the file.
	p, pd := planner.Resolve(rb, inputs, view, planner.ResolveOptions{})
	diags = append(diags, pd...)
	if diags.HasErrors() {
		return fail(diags)
	}
	if saved != nil && executor.PlanStructure(saved) != executor.PlanStructure(p) {
		return errf("the plan %s does not describe what the runbook does now (its instances, ordering, actions or targets differ from a plan made now; the file may have been edited). Make a new plan with 'nrun plan -out', review it and apply that one.", a.Path)
	}
	// Jobs are registered with the JobModifyIndex of the preview the
	// operator reviewed: the saved plan's, else the one shown below.
	if saved != nil {
		planner.CopyJobPreviews(p, saved)
	} else if jd := previewJobs(s, rb, inputs, p, runbookPath, false); jd.HasErrors() {
		return fail(append(diags, jd...))
	}

	stateDir := a.StateDir
	if stateDir == "" {
		stateDir = executor.StateDirFor(runbookPath)
	}
	absRunbook, _ := filepath.Abs(runbookPath)
	baseDir := absRunbook
	if fi, err := os.Stat(absRunbook); err == nil && !fi.IsDir() {
		baseDir = filepath.Dir(absRunbook)
	}

	out := s.Stdout
	// One reader for every answer read from stdin: two would each buffer
	// input meant for the other.
	stdin := bufio.NewReader(s.Stdin)
	if !a.Resume {
		if !a.JSON && saved == nil {
			// The plan shown before asking: with Terraform's own summary,
			// as nrun plan shows it. A saved plan was reviewed with its own.
			previewTerraform(rb, inputs, p, view, runbookPath, false)
		}
		if !a.JSON {
			(views.PlanHuman{Color: stdoutColor(s, a.NoColor), Apply: a.Path}).Plan(out, p)
		}
		if !a.AutoApprove && saved == nil {
			if !s.StdinTTY {
				return errf("refusing to apply without confirmation: stdin is not a terminal. Review the plan and pass -auto-approve, or apply a saved plan file.")
			}
			// Under -json stdout carries only events: ask on stderr.
			ask := out
			if a.JSON {
				ask = s.Stderr
			}
			fmt.Fprint(ask, "\nDo you want to apply this plan? Only 'yes' will be accepted.\n  Enter a value: ")
			line, _ := stdin.ReadString('\n')
			if strings.TrimSpace(line) != "yes" {
				fmt.Fprintln(ask, "\nApply cancelled.")
				return exitError
			}
		}
	}

	lock, err := executor.AcquireLock(stateDir, "apply", func(l executor.LockInfo) {
		fmt.Fprintf(s.Stderr, "nrun apply: removing the stale lock %s of pid %d on %s (that process no longer runs)\n", l.ID, l.PID, l.Host)
	})
	if err != nil {
		return errf("%v", err)
	}
	defer lock.Release()

	var view2 applyView
	switch {
	case a.JSON:
		view2 = &views.ApplyJSON{W: out}
	case s.StdoutTTY:
		pv := &views.ApplyProgress{W: out}
		t := time.NewTicker(time.Second)
		defer t.Stop()
		go func() {
			for range t.C {
				pv.Tick()
			}
		}()
		view2 = pv
	default:
		view2 = &views.ApplyText{W: out}
	}

	var approver func(context.Context, string, string) (bool, error)
	if s.StdinTTY && !a.JSON {
		in := stdin
		var mu sync.Mutex
		approver = func(ctx context.Context, addr, msg string) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(s.Stderr, "\n%s asks for approval: %s\n  Only 'yes' will be accepted: ", addr, msg)
			line, err := in.ReadString('\n')
			if err != nil && err != io.EOF {
				return false, err
			}
			return strings.TrimSpace(line) == "yes", nil
		}
	}

	var cl *cluster.Client
	if cfg, cd := planner.ClusterConfig(rb, inputs); view != nil && !cd.HasErrors() {
		cl, _ = cluster.New(cfg, cluster.WithGetenv(s.Getenv))
	}
	cfg := executor.Config{
		Runbook: rb, Inputs: inputs, Plan: p, Cluster: cl, StateDir: stateDir, BaseDir: baseDir,
		RunbookName: absRunbook, Resume: a.Resume, RunID: a.RunID,
		Approve: a.Approve, AssumeDone: a.AssumeDone, Redo: a.Redo,
		Events: view2.Event, Approver: approver, Stop: stop, Lock: lock,
		Secrets: []string{s.Getenv("NOMAD_TOKEN"), s.Getenv("CONSUL_HTTP_TOKEN")},
		Env:     environList(sandboxEnv),
	}
	if sc, sd := executor.NewScope(rb, inputs, view); !sd.HasErrors() {
		cfg.Scope = sc
	}
	res, err := executor.Run(ctx, cfg)
	view2.Close()
	if errors.Is(err, executor.ErrFinished) {
		fmt.Fprintf(s.Stderr, "nrun apply: %v\n", err)
		return exitOK
	}
	if err != nil {
		return errf("%v", err)
	}
	code := reportApply(s, a, res, runbookPath)
	if a.Sandbox {
		fmt.Fprintf(s.Stderr, "\nThe sandbox keeps running in %s. Point nomad and consul at it with\n  eval \"$(nrun sandbox env)\"\nand remove it with\n  nrun sandbox down\n", sandboxEnv["NRUN_SANDBOX_DIR"])
	}
	return code
}

type applyView interface {
	Event(executor.Event)
	Close()
}

func reportApply(s *streams, a applyArgs, res *executor.Result, path string) int {
	resume := "nrun apply -resume"
	if a.Sandbox {
		resume += " -sandbox"
	}
	if a.StateDir != "" {
		resume += " -state-dir " + a.StateDir
	}
	for _, v := range a.Vars {
		name, _, _ := strings.Cut(v, "=")
		resume += " -var '" + name + "=...'"
	}
	for _, f := range a.VarFiles {
		resume += " -var-file " + f
	}
	views.ApplyReport(s.Stderr, res, resume, path)
	return res.ExitCode()
}

// loadPlanFile parses and validates a saved plan.
func loadPlanFile(b []byte) (*planner.Plan, error) {
	p := &planner.Plan{}
	if err := json.Unmarshal(b, p); err != nil {
		return nil, err
	}
	if err := validateSavedPlan(p); err != nil {
		return nil, err
	}
	return p, nil
}

// validateSavedPlan refuses a plan file that nrun plan cannot have
// written, before anything reads it.
func validateSavedPlan(p *planner.Plan) error {
	if p.FormatVersion != "1" {
		return fmt.Errorf("format_version is %q, and this nrun reads \"1\"", p.FormatVersion)
	}
	for i, in := range p.Instances {
		if in == nil {
			return fmt.Errorf("instance %d is null", i)
		}
		if in.Step.Name == "" {
			return fmt.Errorf("instance %d has no address", i)
		}
	}
	return nil
}
