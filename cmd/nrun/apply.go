package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/operation"
	"github.com/nrun-dev/nrun/planner"
	"github.com/nrun-dev/nrun/views"
)

func init() {
	register(&command{Name: "apply", Synopsis: "Apply a runbook (or a saved plan) to the cluster, with checkpoints", Run: runApply})
}

const applyHelp = `Usage: nrun apply [options] PATH
       nrun apply [options] PLANFILE
       nrun apply -resume [options] PATH
       nrun apply -abandon RUN-ID [-state-dir DIR] [-backend=KIND] [PATH]

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
  -backend=KIND       Where the lock and the runs live: local (the state
                      directory, the default), consul (Consul KV) or
                      nomad (Nomad Variables), under the runbook's
                      backend block's path or nrun/<runbook name>. With
                      consul or nomad the lock is taken before planning
                      and held, renewed, until the run ends; each journal
                      record is copied there before the next action, and
                      -resume works from any machine (README "Team use:
                      backends"; NRUN_BACKEND_LOCK_TTL,
                      NRUN_BACKEND_LOCK_DELAY, NRUN_BACKEND_WAIT,
                      NRUN_BACKEND_KEEP tune it).
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
  -abandon RUN-ID     Give run RUN-ID up for good, after settling by hand
                      what it did: record who abandoned it and when (in
                      the journal when it is readable, and in
                      abandoned.json in the run directory). An abandoned
                      run is never resumed and no longer blocks new runs.
                      This is how to get past a run whose journal cannot
                      be read. Nothing else is done. With
                      -backend=consul|nomad (or the runbook's backend
                      block) it is recorded in the backend, under its
                      lock, as PATH/runs/RUN-ID/abandoned; it is refused,
                      naming the holder, while another nrun holds the
                      lock.

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
  0    every step instance finished, or -resume found the last run
       finished (nothing to resume)
  1    error: invalid runbook, unreadable cluster, a plan file that is
       empty, truncated, damaged or stale, state directory locked
       (after -lock-timeout), the state lock forced during the run, a
       step failed, not approved, -resume of an abandoned or damaged
       run, or bad usage
  3    paused: an approval, an in-doubt action or a failed step with
       on_failure = "pause" (its own or, for an inner step, its
       composite's) waits for the operator (the resume command is
       printed); or, with a consul or nomad backend, the run stopped
       because its lock was lost or the backend could not be written in
       time (resume from any machine)
  130  interrupted by Ctrl-C, SIGTERM or SIGHUP (the resume command is
       printed)
`

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
	Backend     string
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
	fs.BoolVar(&a.NoProgress, "no-progress", false, "")
	fs.BoolVar(&a.NoColor, "no-color", false, "")
	fs.BoolVar(&a.Resume, "resume", false, "")
	fs.StringVar(&a.RunID, "run", "", "")
	fs.DurationVar(&a.LockTimeout, "lock-timeout", 0, "")
	fs.StringVar(&a.Backend, "backend", "", "")
	fs.Var((*repeated)(&a.Approve), "approve", "")
	fs.Var((*repeated)(&a.AssumeDone), "assume-done", "")
	fs.Var((*repeated)(&a.Redo), "redo", "")
	fs.StringVar(&a.Abandon, "abandon", "", "")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	var err error
	if a.Path, err = runbookPath(fs, "apply"); err != nil {
		return a, err
	}
	if a.LockTimeout < 0 {
		return a, errors.New("-lock-timeout must not be negative")
	}
	if !a.Resume && (a.RunID != "" || len(a.Approve) > 0 || len(a.AssumeDone) > 0 || len(a.Redo) > 0) {
		return a, errors.New("-run, -approve, -assume-done and -redo go with -resume")
	}
	return a, nil
}

func runApply(s *streams, args []string) int {
	a, err := parseApplyArgs(args)
	if err != nil {
		return usageError(s, "apply", applyHelp, err)
	}
	if a.Abandon != "" {
		return runAbandon(s, a)
	}
	heartbeat, err := heartbeatInterval(s.Getenv)
	if err != nil {
		fmt.Fprintf(s.Stderr, "nrun apply: %v\n", err)
		return exitError
	}
	ui := newApplyUI(s, a)
	// After a SIGHUP the session's pipes may be gone, and a pipeline may
	// close stdout (`| head`): writes must fail with EPIPE, not kill nrun
	// in the middle of an action.
	defer catchSIGPIPE()()

	var sandboxEnv map[string]string
	if a.Sandbox {
		if sandboxEnv, err = ui.sandbox(); err != nil {
			return ui.fail(nil, fmt.Errorf("the sandbox: %v", err))
		}
	}
	ctx, stop, release := ui.stopOnSignals()
	defer release()

	res := operation.Apply(ctx, operation.ApplyRequest{
		Path:     ui.a.Path,
		Inputs:   operation.Inputs{Vars: ui.a.Vars, VarFiles: ui.a.VarFiles, Environ: environ(ui.s)},
		StateDir: a.StateDir, Resume: a.Resume, RunID: a.RunID,
		Approve: a.Approve, AssumeDone: a.AssumeDone, Redo: a.Redo,
		LockTimeout: a.LockTimeout, Backend: operation.BackendChoice{Kind: a.Backend}, Heartbeat: heartbeat, PreviewTerraform: !a.JSON,
		Env: environList(sandboxEnv), Getenv: ui.s.Getenv, Stop: stop,
	}, ui)
	code := applyExitCode(res)
	ui.report(res, code)
	if res.Outcome == operation.Ran && a.Sandbox {
		fmt.Fprintf(ui.s.Stderr, "\nThe sandbox keeps running in %s. Point nomad and consul at it with\n  eval \"$(nrun sandbox env)\"\nand remove it with\n  nrun sandbox down\n", sandboxEnv["NRUN_SANDBOX_DIR"])
	}
	return code
}

// newApplyUI is the CLI's side of one apply. Under -json stdout carries
// the versioned stream and nothing else: problems go there too, as
// diagnostic messages, so a pipeline reads one stream (they are also
// printed on stderr for a person).
func newApplyUI(s *streams, a applyArgs) *applyUI {
	ui := &applyUI{s: s, a: a, out: &quietWriter{w: s.Stdout}, stdin: bufio.NewReader(s.Stdin), con: &console{}}
	if a.JSON {
		ui.stream = &views.Stream{W: s.Stdout}
		ui.stream.Write(views.VersionMessage(Version, time.Now()))
	}
	return ui
}

// sandbox starts or reuses the local sandbox for apply -sandbox, points
// the rest of the apply at it and, when no variables are given, reads the
// runbook's sandbox variable file.
func (u *applyUI) sandbox() (map[string]string, error) {
	sctx, sstop := signal.NotifyContext(context.Background(), stopSignals...)
	env, err := applySandbox(sctx, u.s)
	sstop()
	if err != nil {
		return nil, err
	}
	u.s = withEnv(u.s, env)
	if len(u.a.Vars) == 0 && len(u.a.VarFiles) == 0 && !operation.IsPlanFile(u.a.Path) {
		if f := sandboxVars(u.a.Path); f != "" {
			fmt.Fprintf(u.s.Stderr, "nrun apply: reading variables from %s\n", f)
			u.a.VarFiles = append(u.a.VarFiles, f)
		}
	}
	return env, nil
}

// stopOnSignals turns Ctrl-C (SIGINT, SIGTERM, SIGHUP) into the two
// stops of a run: once, nothing new starts (stop is closed); twice, stop
// at once (ctx is cancelled). release undoes it.
func (u *applyUI) stopOnSignals() (ctx context.Context, stop <-chan struct{}, release func()) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, stopSignals...)
	go func() {
		n := 0
		for range sigs {
			n++
			if n == 1 {
				close(stopped)
				u.con.say(u.s.Stderr, "\nnrun apply: stopping: nothing new starts; running actions finish. Press Ctrl-C again to stop at once.\n")
				continue
			}
			u.con.say(u.s.Stderr, "\nnrun apply: stopping at once.\n")
			cancel()
			return
		}
	}()
	return ctx, stopped, func() { signal.Stop(sigs); cancel() }
}

// report renders how the apply ended: the diagnostics of a failure, the
// outputs, the summary and the command that continues a stopped run.
func (u *applyUI) report(res *operation.ApplyResult, code int) {
	u.rb = res.Runbook
	switch res.Outcome {
	case operation.Failed:
		u.fail(res.Diags, res.Err)
	case operation.Cancelled:
		// Review said so.
	case operation.NothingToResume:
		fmt.Fprintf(u.s.Stderr, "nrun apply: %v\n", res.Err)
		if u.stream != nil {
			u.stream.Write(views.DiagnosticMessages(hcl.Diagnostics{{Severity: hcl.DiagWarning, Summary: "Nothing to resume", Detail: res.Err.Error()}}, nil, time.Now())...)
		}
	case operation.Ran:
		if u.stream != nil {
			u.stream.Write(views.SummaryMessage(res.Run, code, time.Now()))
		} else {
			// Under -json the outputs message carried them.
			views.ApplyOutputs(u.out, res.Run.Outputs)
		}
		reportApply(u.s, u.a, res.Run, res.RunbookPath)
	}
}

// applyExitCode is the one place that maps how an apply ended to its
// documented exit code (applyHelp).
func applyExitCode(res *operation.ApplyResult) int {
	switch res.Outcome {
	case operation.NothingToResume:
		return exitOK
	case operation.Ran:
		r := res.Run
		if r.Stopped != nil {
			// The backend lock was lost or the backend could not be
			// written: the run waits to be resumed, from anywhere.
			return exitPaused
		}
		switch r.Status {
		case journal.StatusFinished:
			if len(r.Failed) > 0 {
				return exitError
			}
			return exitOK
		case journal.StatusPaused:
			return exitPaused
		case journal.StatusInterrupted:
			return exitInterrupted
		}
	}
	return exitError
}

// applyUI is the CLI's side of an apply operation: the plan and the
// question before the run, the views during it, the diagnostics after.
type applyUI struct {
	s      *streams
	a      applyArgs
	out    io.Writer
	stdin  *bufio.Reader // one reader for every answer: two would each buffer input meant for the other
	con    *console
	stream *views.Stream
	rb     *lang.Runbook
	plan   *planner.Plan

	view     views.ApplyView
	stopView func()
}

// fail prints the diagnostics and the sourceless error of a failed apply,
// on stderr, and into the stream under -json.
func (u *applyUI) fail(diags hcl.Diagnostics, err error) int {
	if err != nil {
		fmt.Fprintf(u.s.Stderr, "nrun apply: %v\n", err)
		if u.stream != nil {
			u.stream.Write(views.DiagnosticMessages(hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "nrun apply failed", Detail: err.Error()}}, nil, time.Now())...)
		}
		if len(diags) > 0 {
			fmt.Fprintln(u.s.Stderr)
		}
	}
	if len(diags) > 0 {
		files := varValueFiles(u.a.Vars)
		if u.rb != nil {
			for name, f := range u.rb.Files {
				files[name] = f
			}
		}
		files = withSources(files, diags)
		views.Diagnostics(u.s.Stderr, diags, files, views.DiagnosticsOptions{Color: diagColor(u.s, u.a.NoColor), Width: views.DiagnosticWidth})
		if u.stream != nil {
			u.stream.Write(views.DiagnosticMessages(diags, files, time.Now())...)
		}
	}
	return exitError
}

// Info implements operation.ApplyUI.
func (u *applyUI) Info(msg string) { u.con.say(u.s.Stderr, "nrun apply: %s\n", msg) }

// Review implements operation.ApplyUI: the plan on stdout (not under
// -json), then the question unless -auto-approve or a saved plan says the
// plan was reviewed already. Without a terminal nobody can answer it.
func (u *applyUI) Review(ctx context.Context, p *planner.Plan, saved bool) (bool, error) {
	if u.stream != nil {
		// The stream carries the plan that runs and its summary, as
		// plan -json does, before the run's own messages.
		ms, err := views.PlanMessages(p, time.Now())
		if err != nil {
			return false, err
		}
		u.stream.Write(ms...)
	} else {
		(views.PlanHuman{Color: stdoutColor(u.s, u.a.NoColor), Apply: u.a.Path}).Plan(u.out, p)
	}
	if u.a.AutoApprove || saved {
		return true, nil
	}
	if !u.s.StdinTTY {
		return false, errors.New("refusing to apply without confirmation: stdin is not a terminal. Review the plan and pass -auto-approve, or apply a saved plan file")
	}
	// Under -json stdout carries only the stream: ask on stderr.
	ask := u.out
	if u.a.JSON {
		ask = u.s.Stderr
	}
	fmt.Fprint(ask, "\nDo you want to apply this plan? Only 'yes' will be accepted.\n  Enter a value: ")
	line, _ := u.stdin.ReadString('\n')
	if strings.TrimSpace(line) != "yes" {
		fmt.Fprintln(ask, "\nApply cancelled.")
		return false, nil
	}
	return true, nil
}

// Begin implements operation.ApplyUI: the view of the run starts.
func (u *applyUI) Begin(p *planner.Plan) {
	u.plan = p
	u.view, u.stopView = newApplyView(chooseApplyOutput(u.a.JSON, u.a.NoProgress, u.s.StdoutTTY, u.s.Getenv), u.out, u.stream)
	if pv, ok := u.view.(*views.ApplyProgress); ok && p != nil {
		pv.SetTotal(len(p.Instances)) // compact at fleet scale
	}
	u.con.setView(u.view)
}

// Event implements operation.ApplyUI.
func (u *applyUI) Event(e executor.Event) { u.view.Event(e) }

// Approver implements operation.ApplyUI: a question on the terminal, or
// nobody to ask (no terminal, or -json).
func (u *applyUI) Approver() func(context.Context, string, string) (bool, error) {
	if !u.s.StdinTTY || u.a.JSON {
		return nil
	}
	return u.con.approver(u.s.Stderr, u.stdin, u.plan)
}

// End implements operation.ApplyUI.
func (u *applyUI) End() {
	u.stopView()
	u.view.Close()
}

func reportApply(s *streams, a applyArgs, res *executor.Result, path string) {
	resume := "nrun apply -resume"
	if a.Sandbox {
		resume += " -sandbox"
	}
	if a.StateDir != "" {
		resume += " -state-dir " + a.StateDir
	}
	if a.Backend != "" {
		resume += " -backend=" + a.Backend
	}
	if res.Stopped != nil {
		fmt.Fprintf(s.Stderr, "nrun apply: the run stopped: %v\nFrom any machine, once no other nrun runs this runbook: %s PATH\n", res.Stopped, resume)
	}
	for _, v := range a.Vars {
		name, _, _ := strings.Cut(v, "=")
		resume += " -var '" + name + "=...'"
	}
	for _, f := range a.VarFiles {
		resume += " -var-file " + f
	}
	views.ApplyReport(s.Stderr, res, resume, path)
}
