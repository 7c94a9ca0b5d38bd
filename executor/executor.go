package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/addrs"
	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

// Config is everything one apply needs.
type Config struct {
	Runbook *lang.Runbook
	Inputs  map[string]cty.Value
	Plan    *planner.Plan
	// Scope evaluates action and check arguments: the plan's
	// (planner.Plan.Scope), so apply sees the data sources the plan was
	// made from. Nil builds one with planner.NewScope from a fresh view.
	Scope *lang.Scope
	// Cluster reads the cluster; nil is allowed for plans that touch no
	// cluster (exec, sleep, approval only).
	Cluster *cluster.Client
	// StateDir holds the lock and the runs.
	StateDir string
	// BaseDir resolves relative paths (snapshot files): the runbook's
	// directory.
	BaseDir string
	// RunbookName identifies the runbook in run headers, so resume finds
	// the run of this runbook: its absolute path.
	RunbookName string

	// Resume continues RunID (LastUnfinished when empty) instead of
	// starting a new run.
	Resume bool
	RunID  string
	// Approve, AssumeDone and Redo are operator decisions by instance
	// address (resume only).
	Approve    []string
	AssumeDone []string
	Redo       []string

	// Events receives every event, redacted; it must not block long.
	Events func(Event)
	// Approver asks the operator; nil pauses the run at an approval.
	Approver func(ctx context.Context, addr, message string) (bool, error)
	// Stop, when closed, starts a graceful stop: nothing new starts,
	// running actions finish (waits stop at once, they are safe points).
	// Cancelling the context of Run stops everything at once.
	Stop <-chan struct{}
	// Secrets are extra strings to redact (tokens come from Cluster).
	Secrets []string
	// Env are KEY=value entries added to the environment of exec
	// commands, after nrun's own (apply -sandbox points `nrun sandbox`
	// and the nomad CLI at the sandbox this way).
	Env []string
	// Lock is the held state lock; the run ID is recorded in it. It is
	// verified before every action and every LockCheck: once it was
	// forced, nothing new starts.
	Lock *Lock
	// Guard is a lock held outside the state directory (a backend's,
	// renewed in the background). It is verified with Lock, before every
	// action and on the LockCheck timer; once it fails, nothing new
	// starts and Result.Stopped says why.
	Guard Guard
	// OpenMirror, when set, opens the backend's copy of the run once its
	// ID is known, with the records the local journal holds. Every
	// record is then mirrored before the append that wrote it returns,
	// so no action starts before the copy shows its intent; a mirror
	// that fails stops the run (Result.Stopped).
	OpenMirror func(runID string, recs []journal.Record) (Mirror, error)
	// LockCheck is the interval of the lock's timer check; default 5s.
	LockCheck time.Duration
	// Heartbeat is the interval of EventHeartbeat while instances run;
	// default 30s, negative for none. CI systems kill jobs that print
	// nothing for a while, and a long wait prints only when the cluster
	// changes.
	Heartbeat time.Duration
	// Now replaces time.Now (tests).
	Now func() time.Time
	// PollMin is the shortest interval between two polls of an endpoint
	// without blocking queries; default 500ms (at most 2 requests/s).
	PollMin time.Duration
	// Settle is how long an autopilot-based wait (server_healthy,
	// servers_healthy, quorum_ok) must hold on every read before it
	// counts; default 2s, autopilot's health refresh interval. Negative
	// means 0.
	Settle time.Duration
	// WaitSource says what wakes the waits on nodes (drains, node
	// checks): WaitSourceStream, one shared subscription to Nomad's event
	// stream per run, or WaitSourceBlocking, blocking queries per wait.
	// Empty reads NRUN_WAIT_SOURCE, else the default (blocking; README,
	// "At scale", says why). Either way a wait holds only on the
	// servers' state (a read, or the node record a Node event carries),
	// never on a wake alone.
	WaitSource string
	// WaitFallback is how often a wait woken by the stream re-reads the
	// cluster when the stream says nothing; default 30s.
	WaitFallback time.Duration
	// openStream, when set, replaces the Nomad event stream (tests
	// inject a silent or refusing stream through it).
	openStream streamFunc
	// afterOpen, when set, sees the journal right after it is opened
	// (tests inject write faults through it).
	afterOpen func(*journal.Journal)
}

// Result is how a run ended.
type Result struct {
	RunID  string
	RunDir string
	// Status is a journal status: finished, failed, paused, interrupted.
	Status   string
	Finished []string
	Failed   []string
	Skipped  []string
	// Paused are instances waiting for an approval; InDoubt are instances
	// whose action may or may not have happened and that no probe could
	// settle (resume with -assume-done or -redo).
	Paused  []string
	InDoubt []string
	// JournalErr is the first journal write that failed. The run stopped
	// starting work there; Status is failed. The journal may lack the
	// last records, so check the cluster before resuming.
	JournalErr error
	// Stopped is set when the run stopped because its backend lock was
	// lost or its backend copy could not be kept current: another nrun
	// may run the runbook now, or the backend did not answer in time.
	// The run can be resumed (the CLI exits 3).
	Stopped error
	// Outputs are the values of the runbook's output blocks, in
	// declaration order, when the run finished with no failure; nil
	// otherwise.
	Outputs []OutputValue
}

// node is one planned instance during a run.
type node struct {
	inst   *planner.Instance
	addr   string
	step   *lang.Step
	each   *lang.Each
	deps   []string // instance addresses that must finish first
	group  *group
	state  *journal.Instance // replayed state, never nil
	status string            // "", running, finished, failed, skipped, paused, indoubt
	// output is the action's output (exec stdout) once it ran.
	output string
	// outputTruncated: the stdout was over OutputCap and output is not
	// published (see setOutput).
	outputTruncated bool
	outputSet       bool
	// tgt is the target resolved at run time when the plan has none.
	tgt *checks.Target
	// actionAt is when the instance's action (a composite's first inner
	// action) last began, zero until then; node waits after a restart
	// hold only on a record registered since (lang.WaitStrategy.Reregistered).
	actionAt time.Time
	// prior is the target node's record read right before that action,
	// nil when not read (see readPrior).
	prior *checks.PriorNode
}

// group is what the scheduler starts: a leaf top-level instance, or one
// instance of a composite step with its inner instances.
type group struct {
	root   *node
	inner  []*node // inner instances, plan order
	deps   []string
	top    string // top-level step name
	status string
	// tolerated is set when the group failed within its step's
	// max_failures: it counts as on_failure = "continue" (its dependants
	// are skipped, the rest runs). Written by the group's goroutine
	// before it reports done.
	tolerated bool
	// counted: the group's failure is in runner.failures already (a
	// composite whose inner instances fail counts once).
	counted bool
}

type runner struct {
	cfg Config
	// stab caches autopilot's ServerStabilizationTime per cluster
	// (true: Consul), read once per run by server_healthy.
	stabMu sync.Mutex
	stab   map[bool]time.Duration

	// settled lends the reads of settle waits to later ones (settle.go).
	settled settleLog

	red    *Redactor
	j      *journal.Journal
	log    *auditLog
	runID  string
	dir    string
	now    func() time.Time
	nodes  map[string]*node
	order  []*node
	groups []*group
	steps  map[string]*lang.Step // top-level step name -> step
	// parallel is each top-level step's max_parallel as the plan
	// resolved it.
	parallel map[string]int
	scMu     sync.Mutex
	sc       *lang.Scope
	nomad    *nomadAPI
	failMu   sync.Mutex
	gate     gate
	// bigOutputs are the step.NAME.output references left unknown
	// because the output was over OutputCap (guarded by scMu).
	bigOutputs []string
	// sens says which expressions are computed from sensitive variables.
	sens *lang.Sensitivity
	// set when a failure with abort or pause, or an approval pause,
	// stops new work.
	halt string
	// failures counts the failed instances of each top-level step with
	// max_failures in this process, exhausted marks the steps whose
	// budget was exceeded (nothing more of them starts). Under failMu.
	failures  map[string]int
	exhausted map[string]bool
	// journalErr is the first failed journal write; it halts the run.
	journalErr error
	// mirror is the backend's copy of the journal (nil without one);
	// mirrorMu serialises its appends. stopErr is the first failure of
	// the mirror or the Guard; it halts the run.
	mirror   Mirror
	mirrorMu sync.Mutex
	stopErr  error
	// lockErr is set once the state lock was found forced (Lock.Verify);
	// it halts the run.
	lockErr    error
	assumeDone map[string]bool
	redo       map[string]bool
	approve    map[string]bool
	// jobVersions maps "namespace/job" to the version nomad_job_run
	// registered in this run (waits_deployment.go).
	jobVersions sync.Map
	// evMu serialises events, so a heartbeat never lists an instance
	// after the event that ended it; active is what heartbeats list.
	evMu   sync.Mutex
	active map[string]*activeInstance
	// waitSrc is the run's wait source; watch the shared stream watcher
	// (watch.go), started once by the first wait on a node, under
	// watchCtx, which ends with Run.
	waitSrc      string
	waitFallback time.Duration
	watchCtx     context.Context
	stopWatch    context.CancelFunc
	watchOnce    sync.Once
	watch        *watcher
	// openStream replaces the Nomad event stream (tests).
	openStream streamFunc
}

type activeInstance struct {
	since        time.Time
	action, wait string
}

// Run applies cfg.Plan. It always returns a Result when the run directory
// could be set up; err is for problems that stop the run from starting
// (journal unreadable, plan and journal disagree).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Plan == nil || cfg.Runbook == nil {
		return nil, errors.New("executor: Config needs a Plan and a Runbook")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PollMin <= 0 {
		cfg.PollMin = 500 * time.Millisecond
	}
	if cfg.Settle == 0 {
		cfg.Settle = 2 * time.Second
	} else if cfg.Settle < 0 {
		cfg.Settle = 0
	}
	if cfg.Events == nil {
		cfg.Events = func(Event) {}
	}
	secrets := append([]string(nil), cfg.Secrets...)
	secrets = append(secrets, SensitiveValues(cfg.Runbook, cfg.Inputs)...)
	// The environment's tokens are secrets even when this run talks to no
	// cluster: exec commands inherit them and may print them.
	secrets = append(secrets, os.Getenv("NOMAD_TOKEN"), os.Getenv("CONSUL_HTTP_TOKEN"))
	if cfg.Cluster != nil {
		c := cfg.Cluster.Config()
		secrets = append(secrets, c.NomadToken.Reveal(), c.ConsulToken.Reveal())
	}
	src, err := waitSource(cfg.WaitSource, os.Getenv)
	if err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, red: NewRedactor(secrets...), now: cfg.Now, sc: cfg.Scope,
		assumeDone: set(cfg.AssumeDone), redo: set(cfg.Redo), approve: set(cfg.Approve),
		sens: lang.NewSensitivity(cfg.Runbook), waitSrc: src, waitFallback: cfg.WaitFallback}
	r.openStream = cfg.openStream
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	r.watchCtx, r.stopWatch = watchCtx, stopWatch
	if cfg.Cluster != nil {
		api, err := newNomadAPI(cfg.Cluster.Config())
		if err != nil {
			return nil, err
		}
		r.nomad = api
	}

	// Check the plan's structure before a run directory exists: a plan
	// the executor refuses must not leave an unfinished run behind.
	if err := r.build(nil); err != nil {
		return nil, err
	}
	if err := r.openRun(); err != nil {
		return nil, err
	}
	defer r.j.Close()
	defer r.log.Close()
	defer r.stopWatcher()
	if cfg.Lock != nil {
		cfg.Lock.SetRun(r.runID)
	}
	if cfg.Guard != nil {
		if err := cfg.Guard.SetRun(r.runID); err != nil {
			r.log.Printf("recording the run in the backend lock: %v", err)
		}
	}
	if cfg.OpenMirror != nil {
		m, err := cfg.OpenMirror(r.runID, r.j.Records())
		if err != nil {
			return nil, err
		}
		r.mirror = m
		if err := m.Append(r.j.Since(m.Mirrored())); err != nil {
			return nil, err
		}
	}
	if err := r.build(r.j.Records()); err != nil {
		return nil, err
	}
	if r.sc == nil {
		if err := r.buildScope(ctx); err != nil {
			return nil, err
		}
	}
	r.resolveTargets()
	res := r.schedule(ctx)
	return res, nil
}

func set(xs []string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func (r *runner) buildScope(ctx context.Context) error {
	var view *cluster.View
	if len(r.cfg.Runbook.Data) > 0 {
		if r.cfg.Cluster == nil {
			return errors.New("the runbook reads data sources but no cluster is configured")
		}
		v, err := r.cfg.Cluster.Snapshot(ctx, cluster.SnapshotOptions{Nomad: true, Nodes: true, Consul: needsConsul(r.cfg.Runbook)})
		if err != nil {
			return fmt.Errorf("read the cluster for the run's scope: %w", err)
		}
		view = v
	}
	sc, diags := planner.NewScope(r.cfg.Runbook, r.cfg.Inputs, view)
	if diags.HasErrors() {
		return fmt.Errorf("build the run's scope: %s", diags.Error())
	}
	r.sc = sc
	return nil
}

func needsConsul(rb *lang.Runbook) bool {
	if rb.Consul != nil {
		return true
	}
	for _, d := range rb.Data {
		if d.Type.Cluster() == lang.ClusterConsulServers {
			return true
		}
	}
	return false
}

// openRun creates a new run directory or reopens the one to resume.
func (r *runner) openRun() error {
	cfg := r.cfg
	if cfg.Resume {
		id, err := ResumeTarget(cfg.StateDir, cfg.RunbookName, cfg.RunID)
		if err != nil {
			return err
		}
		r.runID, r.dir = id, RunDir(cfg.StateDir, id)
	} else {
		// A new run must not start over an older one that left an
		// action in doubt, or over one nobody can read: the new plan
		// would not know about it.
		last, ok, err := LastUnfinished(cfg.StateDir, cfg.RunbookName)
		var damaged *DamagedError
		switch {
		case errors.As(err, &damaged):
			return err
		case err != nil && !errors.Is(err, ErrFinished) && !errors.Is(err, ErrAbandoned):
			return fmt.Errorf("cannot tell whether an earlier run is unfinished: %w", err)
		}
		if ok && last.State != nil {
			var doubt []string
			for _, a := range last.State.Order {
				switch last.State.Instances[a].Phase {
				case journal.PhaseIntent, journal.PhaseActionDone:
					doubt = append(doubt, a)
				}
			}
			if len(doubt) > 0 {
				return fmt.Errorf("run %s of this runbook stopped in the middle of %s; continue it with nrun apply -resume (which re-checks what happened) before starting a new run", last.ID, strings.Join(doubt, ", "))
			}
		}
		r.runID = NewRunID(r.now())
		dir, err := createRunDir(cfg.StateDir, r.runID)
		if err != nil {
			return err
		}
		r.dir = dir
	}
	j, err := journal.Open(r.dir+"/"+journal.FileName, r.red.String)
	if err != nil {
		if cfg.Resume {
			return fmt.Errorf("run %s cannot be resumed: %w.\nInspect %s and the cluster. Repair the journal if you can; otherwise settle by hand what the run did and give it up with: nrun apply -abandon %s -state-dir %s", r.runID, err, r.dir, r.runID, cfg.StateDir)
		}
		return err
	}
	r.j = j
	if cfg.afterOpen != nil {
		cfg.afterOpen(j)
	}
	log, err := openAuditLog(r.dir, r.red)
	if err != nil {
		return err
	}
	r.log = log
	if torn := j.TornFile(); torn != "" {
		msg := "the journal ended in a torn write (a crash or a full disk cut its last record short); it is kept in " + torn + " and the run continues from the last whole record"
		r.log.Printf("%s", msg)
		r.emit(Event{Kind: EventInfo, Message: msg})
	}
	host, _ := os.Hostname()
	who := ""
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	var addrsList []string
	for _, in := range cfg.Plan.Instances {
		addrsList = append(addrsList, in.Addr.String())
	}
	hdr := journal.Record{RunID: r.runID, Runbook: cfg.RunbookName, SourceHash: cfg.Plan.Runbook.SourceHash,
		PlanHash: PlanHash(cfg.Plan), Instances: addrsList, User: who, Host: host, PID: os.Getpid()}
	if cfg.Resume {
		st := journal.Replay(j.Records())
		if st.Header.RunID == "" {
			return fmt.Errorf("run %s has no header record; it cannot be resumed", r.runID)
		}
		if st.Header.SourceHash != "" && cfg.Plan.Runbook.SourceHash != "" && st.Header.SourceHash != cfg.Plan.Runbook.SourceHash {
			return fmt.Errorf("the runbook changed since run %s started (source hash %s, now %s); resume needs the runbook the run was started with", r.runID, st.Header.SourceHash, cfg.Plan.Runbook.SourceHash)
		}
		hdr.Kind = journal.KindResume
	} else {
		hdr.Kind = journal.KindRun
	}
	if err := j.Append(hdr); err != nil {
		return err
	}
	r.log.Printf("%s run %s of %s by %s@%s pid %d", hdr.Kind, r.runID, cfg.RunbookName, who, host, os.Getpid())
	r.emit(Event{Kind: EventRunStart, Message: string(hdr.Kind)})
	return nil
}

// build turns the plan into nodes and groups and replays the journal.
// recs are the journal's records (nil to check the plan alone).
func (r *runner) build(recs []journal.Record) error {
	st := journal.Replay(recs)
	r.nodes = map[string]*node{}
	r.order, r.groups = nil, nil
	r.steps = map[string]*lang.Step{}
	for _, s := range r.cfg.Runbook.Steps {
		r.steps[s.Name] = s
	}
	r.parallel = map[string]int{}
	for _, si := range r.cfg.Plan.Steps {
		if a, err := addrs.ParseStep(si.Addr); err == nil {
			r.parallel[a.Name] = si.MaxParallel
		}
	}
	byStep := map[string][]string{}
	for _, in := range r.cfg.Plan.Instances {
		addr := in.Addr.String()
		step := r.cfg.Runbook.Step(in.Step)
		if step == nil {
			return fmt.Errorf("the plan names %s, which the runbook does not declare; make a new plan", in.Step)
		}
		each, err := eachOf(in)
		if err != nil {
			return err
		}
		n := &node{inst: in, addr: addr, step: step, each: each}
		if s, ok := st.Instances[addr]; ok {
			n.state = s
		} else {
			n.state = &journal.Instance{Addr: addr}
		}
		r.nodes[addr] = n
		r.order = append(r.order, n)
		byStep[in.Step.String()] = append(byStep[in.Step.String()], addr)
	}
	// Inner instances share their composite's each; the plan records it
	// on the composite only.
	for _, n := range r.order {
		if n.inst.Each == nil && n.inst.Parent != "" {
			if p := r.nodes[n.inst.Parent]; p != nil {
				n.each = p.each
			}
		}
	}
	for _, n := range r.order {
		for _, d := range n.inst.DependsOn {
			var targets []string
			if _, ok := r.nodes[d]; ok {
				targets = []string{d}
			} else {
				targets = byStep[d]
			}
			for _, t := range targets {
				if batchEdge(n.inst.Addr, r.nodes[t].inst.Addr) || t == n.addr {
					continue
				}
				n.deps = append(n.deps, t)
			}
		}
	}
	// The journal may know instances the new plan does not (the cluster
	// moved between the crash and the resume). A finished one is history;
	// one whose action may have happened must not be forgotten.
	for _, addr := range st.Order {
		if _, ok := r.nodes[addr]; ok {
			continue
		}
		switch in := st.Instances[addr]; in.Phase {
		case journal.PhaseIntent, journal.PhaseActionDone, journal.PhasePaused:
			return fmt.Errorf("the run's instance %s is %s in the journal, but the plan made now does not hold it (the cluster or the runbook changed); settle it by hand, then start a new run", addr, in.Phase)
		}
	}
	// Groups: every instance without a parent is a group root.
	for _, n := range r.order {
		if n.inst.Parent != "" {
			continue
		}
		g := &group{root: n, top: topName(n.inst.Addr)}
		n.group = g
		for _, a := range n.inst.Inner {
			in, ok := r.nodes[a]
			if !ok {
				return fmt.Errorf("the plan's %s lists inner instance %s, which it does not hold", n.addr, a)
			}
			in.group = g
			g.inner = append(g.inner, in)
		}
		r.groups = append(r.groups, g)
	}
	for _, g := range r.groups {
		seen := map[string]bool{}
		add := func(d string) {
			if dn := r.nodes[d]; dn != nil && dn.group != g && !seen[dn.group.root.addr] {
				seen[dn.group.root.addr] = true
				g.deps = append(g.deps, dn.group.root.addr)
			}
		}
		for _, d := range g.root.deps {
			add(d)
		}
		for _, in := range g.inner {
			for _, d := range in.deps {
				add(d)
			}
		}
	}
	for _, n := range r.order {
		if n.group == nil {
			return fmt.Errorf("the plan's %s has parent %s, which does not list it", n.addr, n.inst.Parent)
		}
	}
	return nil
}

// batchEdge reports whether an edge between two instances of the same
// top-level step is one of the planner's max_parallel batches (different
// keys); the scheduler enforces max_parallel itself, live.
func batchEdge(a, b addrs.Instance) bool {
	return topName(a) == topName(b) && a.Key != b.Key
}

func topName(a addrs.Instance) string {
	if a.Step.Outer != "" {
		return a.Step.Outer
	}
	return a.Step.Name
}

// PlanHash identifies a plan's instance set and order, for the journal.
func PlanHash(p *planner.Plan) string {
	var b strings.Builder
	for _, in := range p.Instances {
		b.WriteString(in.Addr.String())
		b.WriteByte(0)
		for _, d := range in.DependsOn {
			b.WriteString(d)
			b.WriteByte(1)
		}
		b.WriteByte('\n')
	}
	return sha256Hex([]byte(b.String()))
}

func (r *runner) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	e.RunID = r.runID
	e.Message = r.red.String(e.Message)
	r.evMu.Lock()
	defer r.evMu.Unlock()
	r.track(e)
	r.cfg.Events(e)
}

// track keeps the instances in progress for heartbeats, from the events
// every instance emits anyway; evMu is held.
func (r *runner) track(e Event) {
	if r.active == nil {
		r.active = map[string]*activeInstance{}
	}
	switch e.Kind {
	case EventStart:
		r.active[e.Addr] = &activeInstance{since: e.Time, action: e.Action}
	case EventAction:
		if a := r.active[e.Addr]; a != nil {
			a.action, a.wait = e.Action, ""
		}
	case EventWait:
		if a := r.active[e.Addr]; a != nil {
			a.wait = e.Message
		}
	case EventWaitDone, EventActionDone:
		if a := r.active[e.Addr]; a != nil {
			a.wait = ""
		}
	case EventFinished, EventFailed, EventSkipped, EventPaused:
		delete(r.active, e.Addr)
	}
}

// heartbeat emits EventHeartbeat with every instance in progress, unless
// none is (a scheduler between two instances has nothing to report).
func (r *runner) heartbeat() {
	r.evMu.Lock()
	defer r.evMu.Unlock()
	if len(r.active) == 0 {
		return
	}
	now := r.now()
	e := Event{Time: now, Kind: EventHeartbeat, RunID: r.runID}
	for addr, a := range r.active {
		e.Running = append(e.Running, Running{Addr: addr, Action: a.action, Wait: a.wait, Elapsed: now.Sub(a.since)})
	}
	sort.Slice(e.Running, func(i, j int) bool { return e.Running[i].Addr < e.Running[j].Addr })
	r.cfg.Events(e)
}

func (r *runner) append(recs ...journal.Record) error {
	err := r.j.Append(recs...)
	if err == nil && r.mirror != nil {
		r.mirrorMu.Lock()
		err = r.mirror.Append(r.j.Since(r.mirror.Mirrored()))
		r.mirrorMu.Unlock()
		if err != nil {
			r.stop(err)
			return err
		}
	}
	if err != nil {
		r.log.Printf("journal write failed: %v", err)
		r.failMu.Lock()
		first := r.journalErr == nil
		if first {
			r.journalErr = err
		}
		r.failMu.Unlock()
		if first {
			r.emit(Event{Kind: EventInfo, Message: "the journal cannot be written (" + err.Error() + "); nrun starts nothing more and stops"})
		}
	}
	return err
}

// checkLock verifies the state lock. The first time it fails the run is
// halted and the operator told: another nrun may already work on this
// state directory, so starting anything more could interleave with it.
func (r *runner) checkLock() error {
	r.failMu.Lock()
	err := r.lockErr
	r.failMu.Unlock()
	if err != nil {
		return err
	}
	if r.cfg.Guard != nil {
		if gerr := r.cfg.Guard.Verify(); gerr != nil {
			r.stop(gerr)
			return gerr
		}
	}
	if r.cfg.Lock == nil {
		return nil
	}
	if err = r.cfg.Lock.Verify(); err == nil {
		return nil
	}
	r.failMu.Lock()
	first := r.lockErr == nil
	if first {
		r.lockErr = err
	}
	r.failMu.Unlock()
	if first {
		r.log.Printf("state lock lost: %v", err)
		r.emit(Event{Kind: EventInfo, Message: err.Error()})
		r.setHalt(stFailed)
	}
	return err
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Guard is a lock a backend holds for the run (see Config.Guard).
type Guard interface {
	// Verify fails once the lock no longer holds.
	Verify() error
	// SetRun records the run ID in the lock.
	SetRun(runID string) error
}

// Mirror is a backend's copy of the run's journal (see Config.OpenMirror).
type Mirror interface {
	// Mirrored is the seq of the last record the copy holds.
	Mirrored() uint64
	// Append writes the records after Mirrored, returning once the
	// backend holds them.
	Append(recs []journal.Record) error
}

// stop halts the run because its backend lock or copy failed: the first
// time, the operator is told, and Result.Stopped will say why.
func (r *runner) stop(err error) {
	r.failMu.Lock()
	first := r.stopErr == nil
	if first {
		r.stopErr = err
	}
	r.failMu.Unlock()
	if first {
		r.log.Printf("the run stops: %v", err)
		r.emit(Event{Kind: EventInfo, Message: err.Error()})
		r.setHalt(stFailed)
	}
}

// stopped returns why the run stopped for its backend, nil if it did not.
func (r *runner) stopped() error {
	r.failMu.Lock()
	defer r.failMu.Unlock()
	return r.stopErr
}
