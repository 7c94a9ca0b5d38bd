package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planfile"
	"github.com/nrun-dev/nrun/planner"
	"github.com/nrun-dev/nrun/views"
)

func init() {
	register(&command{Name: "apply", Synopsis: "Apply a runbook (or a saved plan) to the cluster, with checkpoints", Run: runApply})
}

const applyHelp = `Usage: nrun apply [options] PATH
       nrun apply [options] PLANFILE
       nrun apply -resume [options] PATH

  Plans the runbook at PATH against the live cluster, shows the plan, asks
  for 'yes' (without a terminal, -auto-approve is required), then runs it:
  each step instance as soon as what it depends on has finished, up to the
  step's max_parallel; preconditions are checked on the live cluster right
  before each action; waits follow the cluster with blocking queries.

  PLANFILE is a plan saved by 'nrun plan -out'. It is refused when it is
  empty, truncated or damaged (its header's length or SHA-256 does not
  match), when it has another format version, and when the runbook or the
  cluster has changed since it was made. The JSON of 'nrun plan -json' is
  not a plan file.

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
  command. Twice: stop at once (a running exec command gets SIGTERM, then
  SIGKILL 10s later); the journal stays consistent. SIGTERM and SIGHUP (a
  dropped ssh session) count as Ctrl-C.

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
                      NRUN_VAR_NAME=VALUE in the environment sets one
                      too, below -var-file and -var.
  -state-dir DIR      State directory (lock, runs). Default: .nrun next to
                      the runbook.
  -lock-timeout=DUR   How long to wait for the state lock while another
                      nrun holds it, retrying (like terraform); then fail
                      naming the holder. Default 0s: fail at once.
  -json               Print the machine-readable stream instead of text:
                      one JSON message per line, versioned, errors
                      included as diagnostic messages (docs/json-stream.md).
  -no-progress        Print timestamped lines even on a terminal, as
                      when TERM=dumb or CI is set.
  -no-color           Disable colour.
  -resume             Continue the last unfinished run of the runbook.
  -run ID             With -resume: the run to continue.
  -approve ADDR       With -resume: approve the paused approval step ADDR.
                      Repeatable.
  -assume-done ADDR   With -resume: the in-doubt action of ADDR did happen.
  -redo ADDR          With -resume: run the in-doubt action of ADDR again.

Output: a progress display on a terminal, timestamped lines otherwise
(and with -no-progress, TERM=dumb or CI set), the JSON stream with -json.
While anything runs, the lines and the JSON carry a heartbeat every 30s
(NRUN_HEARTBEAT=DUR changes it, 0 turns it off) naming what runs, for how
long, and what its wait last observed. A closed output (a pipe into head)
never interrupts the run. After a run that finished, the values of the
runbook's output blocks (sensitive ones as <sensitive>); with -json, one
"outputs" message before "run_end". The full audit log (with command
output) is
STATE/runs/RUN-ID/run.log; secrets (NOMAD_TOKEN, CONSUL_HTTP_TOKEN,
sensitive variables) never appear in the journal, the log or the output.

Exit codes:
  0    every step instance finished
  1    error: invalid runbook, unreadable cluster, a plan file that is
       empty, truncated, damaged or stale, state directory locked
       (after -lock-timeout), the state lock forced during the run, a
       step failed, not approved, or bad usage
  3    paused: an approval or an in-doubt action waits for the operator
       (the resume command is printed)
  130  interrupted by Ctrl-C, SIGTERM or SIGHUP (the resume command is
       printed)
`

const exitPaused = 3

type applyArgs struct {
	AutoApprove bool
	Sandbox     bool
	Vars        []string
	VarFiles    []string
	StateDir    string
	JSON        bool
	NoProgress  bool
	NoColor     bool
	Resume      bool
	RunID       string
	LockTimeout time.Duration
	Approve     []string
	AssumeDone  []string
	Redo        []string
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
	fs.BoolVar(&a.NoProgress, "no-progress", false, "")
	fs.BoolVar(&a.NoColor, "no-color", false, "")
	fs.BoolVar(&a.Resume, "resume", false, "")
	fs.StringVar(&a.RunID, "run", "", "")
	fs.DurationVar(&a.LockTimeout, "lock-timeout", 0, "")
	fs.Var((*repeated)(&a.Approve), "approve", "")
	fs.Var((*repeated)(&a.AssumeDone), "assume-done", "")
	fs.Var((*repeated)(&a.Redo), "redo", "")
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
	if a.LockTimeout < 0 {
		return a, errors.New("-lock-timeout must not be negative")
	}
	if !a.Resume && (a.RunID != "" || len(a.Approve) > 0 || len(a.AssumeDone) > 0 || len(a.Redo) > 0) {
		return a, errors.New("-run, -approve, -assume-done and -redo go with -resume")
	}
	return a, nil
}

// isPlanFile reports whether path is to be read as a saved plan rather
// than a runbook file or directory (planfile.Sniff: a plan file, or an
// empty, truncated or JSON file, which then is refused with a reason
// instead of being applied as a runbook that does nothing).
func isPlanFile(path string) bool {
	return !strings.HasSuffix(path, lang.FileSuffix) && planfile.Sniff(path)
}

func runApply(s *streams, args []string) int {
	a, err := parseApplyArgs(args)
	if err != nil {
		return usageError(s, "apply", applyHelp, err)
	}
	dopts := views.DiagnosticsOptions{Color: diagColor(s, a.NoColor), Width: views.DiagnosticWidth}
	// Under -json stdout carries the versioned stream and nothing else:
	// problems go there too, as diagnostic messages, so a pipeline reads
	// one stream (they are also printed on stderr for a person).
	var stream *views.Stream
	if a.JSON {
		stream = &views.Stream{W: s.Stdout}
		stream.Write(views.VersionMessage(Version, time.Now()))
	}
	var rb *lang.Runbook
	fail := func(diags hcl.Diagnostics) int {
		files := varValueFiles(a.Vars)
		if rb != nil {
			for name, f := range rb.Files {
				files[name] = f
			}
		}
		files = withSources(files, diags)
		views.Diagnostics(s.Stderr, diags, files, dopts)
		if stream != nil {
			stream.Write(views.DiagnosticMessages(diags, files, time.Now())...)
		}
		return exitError
	}
	errf := func(format string, args ...any) int {
		msg := fmt.Sprintf(format, args...)
		fmt.Fprintf(s.Stderr, "nrun apply: %s\n", msg)
		if stream != nil {
			stream.Write(views.DiagnosticMessages(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "nrun apply failed", Detail: msg}}, nil, time.Now())...)
		}
		return exitError
	}
	heartbeat, err := heartbeatInterval(s.Getenv)
	if err != nil {
		return errf("%v", err)
	}
	// After a SIGHUP the session's pipes may be gone, and a pipeline may
	// close stdout (`| head`): writes must fail with EPIPE, not kill nrun
	// in the middle of an action.
	defer catchSIGPIPE()()

	var sandboxEnv map[string]string
	if a.Sandbox {
		sctx, sstop := signal.NotifyContext(context.Background(), stopSignals...)
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
		var err error
		saved, err = planfile.Read(a.Path)
		if err != nil {
			return errf("%v", err)
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
	inputs, d := inputValues(s, rb, a.Vars, a.VarFiles)
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
	signal.Notify(sigs, stopSignals...)
	defer signal.Stop(sigs)
	var interrupted sync.Once
	con := &console{}
	go func() {
		n := 0
		for range sigs {
			n++
			if n == 1 {
				interrupted.Do(func() { close(stop) })
				con.say(s.Stderr, "\nnrun apply: stopping: nothing new starts; running actions finish. Press Ctrl-C again to stop at once.\n")
				continue
			}
			con.say(s.Stderr, "\nnrun apply: stopping at once.\n")
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

	out := io.Writer(&quietWriter{w: s.Stdout})
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

	lock, err := executor.AcquireLock(ctx, stateDir, "apply", executor.LockOptions{
		Timeout: a.LockTimeout,
		Stale: func(l executor.LockInfo) {
			fmt.Fprintf(s.Stderr, "nrun apply: removing the stale lock %s of pid %d on %s (that process no longer runs and holds no flock on it)\n", l.ID, l.PID, l.Host)
		},
		Waiting: func(e *executor.LockedError) {
			fmt.Fprintf(s.Stderr, "nrun apply: the state directory is locked by %s (lock %s, pid %d on %s); waiting up to %s for it (-lock-timeout)\n", e.Info.Who, e.Info.ID, e.Info.PID, e.Info.Host, a.LockTimeout)
		},
	})
	if err != nil {
		return errf("%v", err)
	}
	defer lock.Release()

	view2, stopView := newApplyView(chooseApplyOutput(a.JSON, a.NoProgress, s.StdoutTTY, s.Getenv), out, stream)
	defer stopView()
	con.setView(view2)

	var approver func(context.Context, string, string) (bool, error)
	if s.StdinTTY && !a.JSON {
		approver = con.approver(s.Stderr, stdin, p)
	}

	var cl *cluster.Client
	if cfg, cd := planner.ClusterConfig(rb, inputs); view != nil && !cd.HasErrors() {
		cl, _ = cluster.New(cfg, cluster.WithGetenv(s.Getenv))
	}
	cfg := executor.Config{
		Runbook: rb, Inputs: inputs, Plan: p, Cluster: cl, StateDir: stateDir, BaseDir: baseDir,
		RunbookName: absRunbook, Resume: a.Resume, RunID: a.RunID,
		Approve: a.Approve, AssumeDone: a.AssumeDone, Redo: a.Redo,
		Events: view2.Event, Approver: approver, Stop: stop, Lock: lock, Heartbeat: heartbeat,
		Secrets: []string{s.Getenv("NOMAD_TOKEN"), s.Getenv("CONSUL_HTTP_TOKEN")},
		Env:     environList(sandboxEnv),
	}
	// The plan's scope: the data sources were filled once, from the view
	// read above, and the run evaluates in the same values.
	cfg.Scope = p.Scope()
	res, err := executor.Run(ctx, cfg)
	view2.Close()
	if errors.Is(err, executor.ErrFinished) {
		fmt.Fprintf(s.Stderr, "nrun apply: %v\n", err)
		if stream != nil {
			stream.Write(views.DiagnosticMessages(hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Nothing to resume", Detail: err.Error()}}, nil, time.Now())...)
		}
		return exitOK
	}
	if err != nil {
		return errf("%v", err)
	}
	if stream != nil {
		stream.Write(views.SummaryMessage(res, time.Now()))
	} else {
		// Under -json the outputs message carried them.
		views.ApplyOutputs(out, res.Outputs)
	}
	code := reportApply(s, a, res, runbookPath)
	if a.Sandbox {
		fmt.Fprintf(s.Stderr, "\nThe sandbox keeps running in %s. Point nomad and consul at it with\n  eval \"$(nrun sandbox env)\"\nand remove it with\n  nrun sandbox down\n", sandboxEnv["NRUN_SANDBOX_DIR"])
	}
	return code
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
