package executor

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/lang"
)

// Node and group statuses during a run.
const (
	stPending     = ""
	stRunning     = "running"
	stFinished    = "finished"
	stFailed      = "failed"
	stSkipped     = "skipped"
	stPaused      = "paused"      // approval pending, or on_failure = pause
	stInDoubt     = "indoubt"     // the operator must decide
	stInterrupted = "interrupted" // stopped at a safe point by Ctrl-C
)

type groupDone struct {
	g      *group
	status string
}

// schedule runs groups as their dependencies finish, up to each step's
// max_parallel, until everything ran, nothing more can start, or a stop.
func (r *runner) schedule(ctx context.Context) *Result {
	soft, softCancel := context.WithCancel(ctx)
	defer softCancel()
	for _, g := range r.groups {
		if g.root.state.Phase == journal.PhaseFinished {
			g.status = stFinished
			g.root.status = stFinished
			for _, in := range g.inner {
				in.status = stFinished
			}
		}
	}
	done := make(chan groupDone)
	running := map[string]int{}
	nrunning := 0
	stopping := false
	stopCh := r.cfg.Stop
	// The lock is also checked on a timer, so a forced lock halts the
	// run even while every running instance sits in a long wait.
	var lockTick <-chan time.Time
	if r.cfg.Lock != nil || r.cfg.Guard != nil {
		every := r.cfg.LockCheck
		if every <= 0 {
			every = 5 * time.Second
		}
		t := time.NewTicker(every)
		defer t.Stop()
		lockTick = t.C
	}
	var beat <-chan time.Time
	if every := r.cfg.Heartbeat; every >= 0 {
		if every == 0 {
			every = 30 * time.Second
		}
		t := time.NewTicker(every)
		defer t.Stop()
		beat = t.C
	}
	for {
		if !stopping && r.halted() == "" && ctx.Err() == nil {
			r.startReady(ctx, soft, running, &nrunning, done)
		}
		if nrunning == 0 {
			break
		}
		select {
		case m := <-done:
			nrunning--
			running[m.g.top]--
			m.g.status = m.status
		case <-lockTick:
			r.checkLock()
		case <-beat:
			r.heartbeat()
		case <-stopCh:
			stopCh = nil
			stopping = true
			softCancel()
			r.log.Printf("stop requested: starting nothing new; running actions finish, waits stop")
			r.emit(Event{Kind: EventInfo, Message: "stopping: nothing new starts; running actions finish, waits stop at a safe point"})
		}
	}
	return r.finish(ctx, stopping)
}

func (r *runner) halted() string {
	r.failMu.Lock()
	defer r.failMu.Unlock()
	if r.journalErr != nil {
		return stFailed
	}
	return r.halt
}

// journalFailed returns the first failed journal write, nil while the
// journal is sound.
func (r *runner) journalFailed() error {
	r.failMu.Lock()
	defer r.failMu.Unlock()
	if r.journalErr != nil {
		return fmt.Errorf("not started: the journal could not be written earlier (%w)", r.journalErr)
	}
	return nil
}

func (r *runner) setHalt(why string) {
	r.failMu.Lock()
	defer r.failMu.Unlock()
	// A pause wins over a failure: resume is what the operator must do
	// either way, and a pause says so.
	if r.halt == "" || why == stPaused {
		r.halt = why
	}
}

// tolerate counts n's failure against its top-level step's max_failures
// and reports whether the budget still holds (then on_failure does not
// apply). The budget is exceeded only by strictly more failures than it
// allows (lang.FailureBudget.Exceeded, as Ansible's max_fail_percentage);
// from then on no further instance of the step starts and on_failure
// applies to this failure. A failure with the budget already exceeded is
// not tolerated either.
func (r *runner) tolerate(n *node) bool {
	g := n.group
	if g == nil {
		return false
	}
	st := r.steps[g.top]
	if st == nil || st.MaxFailures == nil {
		return false
	}
	total := 0
	for _, o := range r.groups {
		if o.top == g.top {
			total++
		}
	}
	r.failMu.Lock()
	defer r.failMu.Unlock()
	if r.failures == nil {
		r.failures, r.exhausted = map[string]int{}, map[string]bool{}
	}
	if !g.counted {
		g.counted = true
		r.failures[g.top]++
	}
	failed := r.failures[g.top]
	if r.exhausted[g.top] || st.MaxFailures.Exceeded(failed, total) {
		if !r.exhausted[g.top] {
			r.exhausted[g.top] = true
			msg := fmt.Sprintf("max_failures = %s exceeded: %d of %d instances of step.%s failed; no further instance of it starts, and on_failure = %s applies", st.MaxFailures, failed, total, g.top, n.inst.OnFailure)
			r.log.Printf("%s", msg)
			r.emit(Event{Kind: EventInfo, Addr: n.addr, Message: msg})
		}
		return false
	}
	g.tolerated = true
	msg := fmt.Sprintf("within max_failures = %s: %d of %d instances of step.%s failed; the run goes on", st.MaxFailures, failed, total, g.top)
	r.log.Printf("%s: %s", n.addr, msg)
	r.emit(Event{Kind: EventInfo, Addr: n.addr, Message: msg})
	return true
}

// exhaustedStep reports whether top's max_failures was exceeded.
func (r *runner) exhaustedStep(top string) bool {
	r.failMu.Lock()
	defer r.failMu.Unlock()
	return r.exhausted[top]
}

func (r *runner) maxParallel(top string) int {
	// The plan's value: max_parallel may be an expression the planner
	// evaluated.
	if n := r.parallel[top]; n > 0 {
		return n
	}
	if s := r.steps[top]; s != nil && s.MaxParallel > 0 {
		return s.MaxParallel
	}
	return 1
}

// startReady starts every group that may start now.
func (r *runner) startReady(ctx, soft context.Context, running map[string]int, nrunning *int, done chan<- groupDone) {
	leaderKnown := false
	var leader serverRef
	for changed := true; changed; {
		changed = false
		for _, g := range r.groups {
			if g.status != stPending {
				continue
			}
			ready, blocked := r.depsState(g)
			if blocked != "" {
				r.skipGroup(g, blocked)
				changed = true
				continue
			}
			if !ready || running[g.top] >= r.maxParallel(g.top) || r.exhaustedStep(g.top) {
				continue
			}
			if st := r.steps[g.top]; st != nil && st.Order == lang.OrderLeaderLast && r.cfg.Cluster != nil {
				if !leaderKnown {
					leader = r.liveLeader(ctx, g)
					leaderKnown = true
				}
				if leader.matches(g.root.target()) && r.othersPending(g) {
					continue
				}
			}
			g.status = stRunning
			running[g.top]++
			*nrunning++
			changed = true
			go func(g *group) {
				done <- groupDone{g: g, status: r.runGroup(ctx, soft, g)}
			}(g)
		}
	}
}

// othersPending reports whether another instance of g's step has not
// finished yet: the leader's instance waits for them (leader_last).
func (r *runner) othersPending(g *group) bool {
	for _, o := range r.groups {
		if o != g && o.top == g.top && (o.status == stPending || o.status == stRunning) {
			return true
		}
	}
	return false
}

// depsState says whether g's dependencies have finished, or names one that
// failed or was skipped (then g can never run in this process).
func (r *runner) depsState(g *group) (ready bool, blocked string) {
	ready = true
	for _, d := range g.deps {
		dg := r.nodes[d].group
		switch dg.status {
		case stFinished:
		case stFailed, stSkipped:
			if r.onFailure(dg) == lang.OnFailureContinue || dg.status == stSkipped {
				return false, d
			}
			ready = false
		default:
			ready = false
		}
	}
	return ready, ""
}

func (r *runner) onFailure(g *group) lang.OnFailure {
	if g.tolerated {
		return lang.OnFailureContinue
	}
	if g.root.inst.OnFailure != "" {
		return g.root.inst.OnFailure
	}
	return lang.OnFailureAbort
}

func (r *runner) skipGroup(g *group, because string) {
	g.status = stSkipped
	msg := "dependency " + because + " failed"
	for _, n := range append([]*node{g.root}, g.inner...) {
		if n.status == stFinished || n.state.Phase == journal.PhaseFinished {
			continue
		}
		n.status = stSkipped
		r.append(journal.Record{Kind: journal.KindSkipped, Addr: n.addr, Error: msg})
		r.log.Printf("%s: skipped: %s", n.addr, msg)
		r.emit(Event{Kind: EventSkipped, Addr: n.addr, Message: msg})
	}
}

// finish writes the end record and builds the result.
func (r *runner) finish(ctx context.Context, stopping bool) *Result {
	res := &Result{RunID: r.runID, RunDir: r.dir}
	pending := false
	for _, n := range r.order {
		if n.inst.Action == nil && len(n.inst.Inner) > 0 {
			// Containers are reported through their inner instances,
			// except when they failed themselves (preconditions).
			innerFailed := false
			for _, in := range n.group.inner {
				innerFailed = innerFailed || in.status == stFailed
			}
			if n.status == stFailed && !innerFailed {
				res.Failed = append(res.Failed, n.addr)
			}
			continue
		}
		switch n.status {
		case stFinished:
			res.Finished = append(res.Finished, n.addr)
		case stFailed:
			res.Failed = append(res.Failed, n.addr)
		case stSkipped:
			res.Skipped = append(res.Skipped, n.addr)
		case stPaused:
			res.Paused = append(res.Paused, n.addr)
		case stInDoubt:
			res.InDoubt = append(res.InDoubt, n.addr)
		default:
			pending = true
		}
	}
	halt := r.halted()
	abortFail := false
	for _, g := range r.groups {
		if g.status == stFailed && r.onFailure(g) != lang.OnFailureContinue {
			abortFail = true
		}
	}
	r.failMu.Lock()
	jerr := r.journalErr
	r.failMu.Unlock()
	switch {
	case jerr != nil:
		// Without a journal nothing after this point could be resumed
		// safely; the run is over whatever else happened.
		res.Status = journal.StatusFailed
		res.JournalErr = jerr
	case ctx.Err() != nil || (stopping && (pending || halt == stInterrupted)):
		res.Status = journal.StatusInterrupted
	case halt == stPaused || len(res.Paused) > 0 || len(res.InDoubt) > 0:
		res.Status = journal.StatusPaused
	case abortFail || pending:
		res.Status = journal.StatusFailed
	default:
		res.Status = journal.StatusFinished
	}
	sort.Strings(res.Failed)
	r.append(journal.Record{Kind: journal.KindEnd, Status: res.Status})
	r.log.Printf("run %s ended: %s (%d finished, %d failed, %d skipped, %d paused, %d in doubt)",
		r.runID, res.Status, len(res.Finished), len(res.Failed), len(res.Skipped), len(res.Paused), len(res.InDoubt))
	if res.Status == journal.StatusFinished && len(res.Failed) == 0 && len(r.cfg.Runbook.Outputs) > 0 {
		res.Outputs = r.outputs()
		r.emit(Event{Kind: EventOutputs, Outputs: res.Outputs})
	}
	res.Stopped = r.stopped()
	r.emit(Event{Kind: EventRunEnd, Status: res.Status})
	return res
}
