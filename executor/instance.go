package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/lang"
)

// errInterrupted is returned by waits and other safe points when a
// graceful stop was requested.
var errInterrupted = errors.New("interrupted at a safe point")

// errPaused is returned when the instance waits for an approval.
var errPaused = errors.New("waiting for approval")

func (r *runner) runGroup(ctx, soft context.Context, g *group) string {
	if len(g.inner) == 0 {
		st := r.runLeaf(ctx, soft, g.root)
		return st
	}
	return r.runComposite(ctx, soft, g)
}

func (r *runner) instanceCtx(ctx context.Context, n *node) (context.Context, context.CancelFunc) {
	if n.inst.Timeout > 0 {
		return context.WithTimeout(ctx, time.Duration(n.inst.Timeout))
	}
	return context.WithCancel(ctx)
}

// fail records a failure and applies on_failure.
func (r *runner) fail(n *node, err error) string {
	msg := err.Error()
	n.status = stFailed
	r.append(journal.Record{Kind: journal.KindFailed, Addr: n.addr, Error: msg})
	r.log.Printf("%s: failed: %s", n.addr, msg)
	r.emit(Event{Kind: EventFailed, Addr: n.addr, Message: msg})
	if r.tolerate(n) {
		return stFailed
	}
	switch n.inst.OnFailure {
	case lang.OnFailureContinue:
	case lang.OnFailurePause:
		r.append(journal.Record{Kind: journal.KindPaused, Addr: n.addr, Detail: "on_failure = pause"})
		r.emit(Event{Kind: EventPaused, Addr: n.addr, Message: "on_failure = pause: the run stops here; fix the cause, then resume"})
		r.setHalt(stPaused)
	default:
		r.setHalt(stFailed)
	}
	return stFailed
}

// skipInner records the inner instances of g that never started as
// skipped: the composite instance ended at failed. A resume runs them.
func (r *runner) skipInner(g *group, failed string) {
	msg := "inner step " + failed + " failed"
	for _, in := range g.inner {
		if in.status != stPending {
			continue
		}
		in.status = stSkipped
		r.append(journal.Record{Kind: journal.KindSkipped, Addr: in.addr, Error: msg})
		r.log.Printf("%s: skipped: %s", in.addr, msg)
		r.emit(Event{Kind: EventSkipped, Addr: in.addr, Message: msg})
	}
}

// innerGoesOn reports whether the composite instance goes on past a
// failure of its inner instance n: only when n's own step sets on_failure
// = "continue". An inherited policy (the composite's) ends the composite
// instance at the failed inner step and says what the run does next.
func innerGoesOn(n *node) bool {
	return n.inst.OnFailure == lang.OnFailureContinue && !n.inst.OnFailureInherited
}

func (r *runner) runComposite(ctx, soft context.Context, g *group) string {
	root := g.root
	if root.state.Phase == journal.PhaseFinished {
		return stFinished
	}
	ictx, cancel := r.instanceCtx(ctx, root)
	defer cancel()
	isoft, scancel := r.instanceCtx(soft, root)
	defer scancel()
	root.status = stRunning
	start := r.now()
	r.emit(Event{Kind: EventStart, Addr: root.addr})
	// Preconditions guard the first inner action. Once one inner instance
	// has a record they no longer can hold (the composite is half done:
	// its own server is down), so they are not evaluated again.
	started := root.state.Phase == journal.PhaseActionDone
	for _, in := range g.inner {
		if in.state.Phase != journal.PhaseNone {
			started = true
		}
	}
	if disrupt := compositeDisruptive(g); disrupt {
		defer r.unclaim(root)
		if started {
			// Half done: its target may be down now.
			r.claim(root)
		}
	}
	if !started {
		if err := r.checkAndClaim(ictx, root, compositeDisruptive(g)); err != nil {
			return r.fail(root, err)
		}
		r.readPrior(ictx, root)
		root.actionAt = r.now()
		if err := r.append(journal.Record{Kind: journal.KindIntent, Addr: root.addr, Action: "steps", Attempt: 1}); err != nil {
			return r.fail(root, err)
		}
	} else {
		root.actionAt = root.state.IntentAt
	}
	if root.state.Phase != journal.PhaseActionDone {
		// The inner DAG: every inner instance starts when its siblings
		// it depends on have finished.
		type res struct {
			n  *node
			st string
		}
		ch := make(chan res)
		nrun := 0
		stop := false
		for {
			if !stop && r.halted() == "" && isoft.Err() == nil {
				for _, in := range g.inner {
					if in.status != stPending {
						continue
					}
					if in.state.Phase == journal.PhaseFinished {
						in.status = stFinished
						continue
					}
					ready, blocked := true, ""
					for _, d := range in.deps {
						dn := r.nodes[d]
						if dn.group != g {
							continue
						}
						switch dn.status {
						case stFinished:
						case stFailed, stSkipped:
							blocked = d
						default:
							ready = false
						}
					}
					if blocked != "" {
						in.status = stSkipped
						r.append(journal.Record{Kind: journal.KindSkipped, Addr: in.addr, Error: "dependency " + blocked + " did not finish"})
						r.emit(Event{Kind: EventSkipped, Addr: in.addr, Message: "dependency " + blocked + " did not finish"})
						continue
					}
					if !ready {
						continue
					}
					in.status = stRunning
					nrun++
					go func(in *node) { ch <- res{in, r.runLeaf(ictx, isoft, in)} }(in)
				}
			}
			if nrun == 0 {
				break
			}
			m := <-ch
			nrun--
			m.n.status = m.st
			if m.st != stFinished && !innerGoesOn(m.n) {
				stop = true
			}
		}
		for _, in := range g.inner {
			switch in.status {
			case stFinished:
			case stPaused, stInDoubt, stInterrupted:
				root.status = in.status
				return in.status
			case stPending, stRunning:
				root.status = stInterrupted
				return stInterrupted
			default:
				if innerGoesOn(in) && (in.status == stSkipped || in.status == stFailed) {
					continue
				}
				root.status = stFailed
				r.skipInner(g, in.addr)
				r.append(journal.Record{Kind: journal.KindFailed, Addr: root.addr, Error: "inner step " + in.addr + " did not finish"})
				return stFailed
			}
		}
		if err := r.append(journal.Record{Kind: journal.KindActionDone, Addr: root.addr}); err != nil {
			return r.fail(root, err)
		}
		root.state.WaitsDone = 0
	}
	if st, ok := r.runWaits(ictx, isoft, root, start); !ok {
		return st
	}
	if err := r.append(journal.Record{Kind: journal.KindFinished, Addr: root.addr}); err != nil {
		return r.fail(root, err)
	}
	root.status = stFinished
	r.emit(Event{Kind: EventFinished, Addr: root.addr, Elapsed: r.now().Sub(start)})
	return stFinished
}

// runLeaf runs one instance with an action, from wherever the journal
// left it.
func (r *runner) runLeaf(ctx, soft context.Context, n *node) string {
	if n.state.Phase == journal.PhaseFinished {
		n.status = stFinished
		return stFinished
	}
	ictx, cancel := r.instanceCtx(ctx, n)
	defer cancel()
	isoft, scancel := r.instanceCtx(soft, n)
	defer scancel()
	n.status = stRunning
	start := r.now()
	act := n.step.Action
	if act == nil {
		return r.fail(n, fmt.Errorf("the step has no action"))
	}
	r.emit(Event{Kind: EventStart, Addr: n.addr, Action: act.Type})
	needAction := true
	fresh := false
	// On resume the action began when its last intent was written.
	n.actionAt = n.state.IntentAt
	switch n.state.Phase {
	case journal.PhaseActionDone:
		needAction = false
	case journal.PhaseIntent, journal.PhasePaused:
		if n.state.Phase == journal.PhasePaused && n.state.Action == "" {
			// Paused by on_failure = pause before its action: start over.
			fresh = true
			break
		}
		switch {
		case r.assumeDone[n.addr]:
			if err := r.append(journal.Record{Kind: journal.KindDecision, Addr: n.addr, Status: "assume-done"},
				journal.Record{Kind: journal.KindActionDone, Addr: n.addr, Detail: "operator: assume done"}); err != nil {
				return r.fail(n, err)
			}
			r.emit(Event{Kind: EventProbe, Addr: n.addr, Message: "operator decision: assume the action is done"})
			needAction = false
		case r.redo[n.addr]:
			if err := r.append(journal.Record{Kind: journal.KindDecision, Addr: n.addr, Status: "redo"}); err != nil {
				return r.fail(n, err)
			}
			r.emit(Event{Kind: EventProbe, Addr: n.addr, Message: "operator decision: redo the action"})
		default:
			out, detail := r.probe(ictx, n)
			if err := r.append(journal.Record{Kind: journal.KindProbe, Addr: n.addr, Status: string(out), Detail: detail}); err != nil {
				return r.fail(n, err)
			}
			r.log.Printf("%s: in doubt after a crash; probe: %s (%s)", n.addr, out, detail)
			r.emit(Event{Kind: EventProbe, Addr: n.addr, Message: fmt.Sprintf("%s: %s", out, detail)})
			switch out {
			case probeDone:
				if err := r.append(journal.Record{Kind: journal.KindActionDone, Addr: n.addr, Detail: "probe: " + detail}); err != nil {
					return r.fail(n, err)
				}
				needAction = false
			case probeUnknown:
				n.status = stInDoubt
				r.append(journal.Record{Kind: journal.KindPaused, Addr: n.addr, Action: act.Type, Detail: "in doubt: " + detail})
				r.emit(Event{Kind: EventPaused, Addr: n.addr, Message: "in doubt: " + detail + "; resume with -assume-done " + n.addr + " or -redo " + n.addr})
				r.setHalt(stPaused)
				return stInDoubt
			}
		}
	default:
		fresh = true
	}
	// A disruptive action checks its preconditions live before every
	// execution: the first attempt, each retry, and a resumed action
	// (-redo, or the probe saw it did not happen), which may run hours
	// after the run stopped. Others check once, before a fresh start.
	disrupt := disruptive(act)
	if disrupt {
		defer r.unclaim(n)
		if !needAction {
			// The action ran; waits may still see its target down.
			r.claim(n)
		}
	}
	if needAction {
		attempts := 1
		var delay time.Duration
		if n.inst.Retry != nil && n.inst.Retry.Attempts > 1 {
			attempts, delay = n.inst.Retry.Attempts, time.Duration(n.inst.Retry.Delay)
		}
		var err error
		var detail, digest string
		for attempt := 1; attempt <= attempts; attempt++ {
			if (attempt == 1 && fresh) || disrupt {
				if err := r.checkAndClaim(ictx, n, disrupt); err != nil {
					if errors.Is(err, context.Canceled) && ctx.Err() == nil {
						return stInterrupted
					}
					return r.fail(n, err)
				}
			}
			if err := r.journalFailed(); err != nil {
				// An earlier record (this instance's or another's) is
				// missing: start no action the journal might not show.
				return r.fail(n, err)
			}
			if err := r.checkLock(); err != nil {
				return r.fail(n, fmt.Errorf("not started: %w", err))
			}
			r.readPrior(ictx, n)
			n.actionAt = r.now()
			if err := r.append(journal.Record{Kind: journal.KindIntent, Addr: n.addr, Action: act.Type, Attempt: attempt}); err != nil {
				return r.fail(n, err)
			}
			r.log.Printf("%s: %s (attempt %d/%d)", n.addr, act.Type, attempt, attempts)
			r.emit(Event{Kind: EventAction, Addr: n.addr, Action: act.Type, Attempt: attempt})
			if changes(n.step.Action) {
				r.settled.begin(time.Now())
			}
			detail, digest, err = r.doAction(ictx, isoft, n, attempt)
			if changes(n.step.Action) {
				r.settled.end(time.Now())
			}
			if err == nil || errors.Is(err, errPaused) || errors.Is(err, errInterrupted) || ctx.Err() != nil {
				break
			}
			r.log.Printf("%s: attempt %d failed: %v", n.addr, attempt, err)
			if attempt < attempts {
				r.emit(Event{Kind: EventInfo, Addr: n.addr, Message: fmt.Sprintf("attempt %d failed: %v; retrying in %s", attempt, err, delay)})
				select {
				case <-time.After(delay):
				case <-isoft.Done():
					return stInterrupted
				}
			}
		}
		switch {
		case errors.Is(err, errPaused):
			n.status = stPaused
			return stPaused
		case errors.Is(err, errInterrupted):
			n.status = stInterrupted
			return stInterrupted
		case err != nil && ctx.Err() != nil:
			n.status = stInterrupted
			return stInterrupted
		case err != nil:
			return r.fail(n, err)
		}
		recs := []journal.Record{{Kind: journal.KindActionDone, Addr: n.addr, Detail: detail, Digest: digest}}
		if len(n.step.Waits) == 0 {
			// Nothing between the two: one write and one fsync.
			recs = append(recs, journal.Record{Kind: journal.KindFinished, Addr: n.addr})
		}
		if err := r.append(recs...); err != nil {
			return r.fail(n, err)
		}
		n.state.WaitsDone = 0
		r.emit(Event{Kind: EventActionDone, Addr: n.addr, Action: act.Type, Message: detail, Elapsed: r.now().Sub(start)})
		if len(n.step.Waits) == 0 {
			return r.finished(n, start)
		}
	}
	if st, ok := r.runWaits(ictx, isoft, n, start); !ok {
		return st
	}
	if err := r.append(journal.Record{Kind: journal.KindFinished, Addr: n.addr}); err != nil {
		return r.fail(n, err)
	}
	return r.finished(n, start)
}

func (r *runner) finished(n *node, start time.Time) string {
	n.status = stFinished
	r.log.Printf("%s: finished in %s", n.addr, r.now().Sub(start).Round(time.Millisecond))
	r.emit(Event{Kind: EventFinished, Addr: n.addr, Elapsed: r.now().Sub(start)})
	r.setOutput(n)
	return stFinished
}

// runWaits runs the step's waits from the first one not yet journalled.
func (r *runner) runWaits(ctx, soft context.Context, n *node, start time.Time) (string, bool) {
	for i, w := range n.step.Waits {
		if i < n.state.WaitsDone {
			continue
		}
		res, err := r.wait(ctx, soft, n, w, r.waitTimeout(n, i))
		if err != nil {
			if errors.Is(err, errInterrupted) || (ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded)) {
				n.status = stInterrupted
				return stInterrupted, false
			}
			return r.fail(n, fmt.Errorf("wait %s: %w", w.Name, err)), false
		}
		if err := r.append(journal.Record{Kind: journal.KindWaitDone, Addr: n.addr, Wait: w.Name, WaitIndex: i, Detail: res}); err != nil {
			return r.fail(n, err), false
		}
		r.emit(Event{Kind: EventWaitDone, Addr: n.addr, Check: w.Name, OK: true, Message: res, Elapsed: r.now().Sub(start)})
	}
	return "", true
}

// target is the instance's target as checks see it.
func (n *node) target() checks.Target {
	if n.tgt != nil {
		return *n.tgt
	}
	t := n.inst.Target
	return checks.Target{Kind: t.Kind, ID: t.ID, Name: t.Name, Address: t.Address}
}

// resolveTargets fills the target of instances whose plan entry has none
// from the step's effective target (its target argument, its composite's,
// else each.value), evaluated in the run's scope. Plans that already carry
// a target keep it.
func (r *runner) resolveTargets() {
	for _, n := range r.order {
		t := n.inst.Target
		if t.ID != "" || t.Name != "" || t.Address != "" {
			continue
		}
		e := n.step.EffectiveTarget()
		if e == nil {
			continue
		}
		v, diags := e.Value(r.sc.StepEvalContext(n.step, n.each))
		if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
			continue
		}
		ct, err := checks.TargetFromValue(v)
		if err != nil {
			continue
		}
		n.tgt = &ct
	}
}

// evalArgs evaluates attributes in the instance's scope. The scope is
// shared, so evaluation is serialised.
func (r *runner) evalArgs(n *node, attrs map[string]*hcl.Attribute) (map[string]cty.Value, error) {
	r.scMu.Lock()
	defer r.scMu.Unlock()
	out := map[string]cty.Value{}
	ctx := r.sc.StepEvalContext(n.step, n.each)
	for name, a := range attrs {
		v, diags := a.Expr.Value(ctx)
		if diags.HasErrors() {
			return nil, fmt.Errorf("argument %s: %s", name, diags.Error())
		}
		if !v.IsWhollyKnown() {
			if len(r.bigOutputs) > 0 {
				return nil, fmt.Errorf("argument %s is not known: it depends on a step that has not produced its output, or on %s, which is not kept because the command printed more than %d bytes on its standard output (run.log has it whole); write large output to a file and pass its path", name, strings.Join(r.bigOutputs, " or "), OutputCap)
			}
			return nil, fmt.Errorf("argument %s is not known (it depends on a step that has not produced its output)", name)
		}
		out[name] = v
	}
	return out, nil
}

func (r *runner) checkArgs(n *node, c *lang.Check) (checks.Args, error) {
	vals, err := r.evalArgs(n, c.Args)
	if err != nil {
		return checks.Args{}, err
	}
	return checks.ArgsFromCty(vals)
}

// setOutput records step.NAME.output for later steps (steps without
// for_each, and inner steps, whose sibling references are per instance).
func (r *runner) setOutput(n *node) {
	if spec := n.step.Action.Spec(); n.outputSet || n.output == "" && (spec == nil || !spec.Output) {
		return
	}
	if n.inst.Addr.Key.Valid && !n.step.Addr.Nested() {
		return
	}
	r.scMu.Lock()
	defer r.scMu.Unlock()
	key := n.step.Name
	if n.step.Outer != nil {
		key = n.step.Outer.Name + ".step." + n.step.Name
	}
	out := cty.StringVal(n.output)
	if n.outputTruncated {
		// A cut value could run a later step on part of a list or a
		// document: the output is unknown, and a step that uses it fails
		// (evalArgs names this step).
		out = cty.UnknownVal(cty.String)
		r.bigOutputs = append(r.bigOutputs, "step."+strings.ReplaceAll(key, ".step.", ".")+".output")
	}
	r.sc.SetStep(key, cty.ObjectVal(map[string]cty.Value{"output": out}))
	n.outputSet = true
}

// snapshotFor reads what the checks of an instance need.
func (r *runner) snapshotFor(ctx context.Context, n *node, cs []*lang.Check) (*cluster.View, error) {
	if r.cfg.Cluster == nil {
		return nil, errors.New("no cluster is configured")
	}
	opts := cluster.SnapshotOptions{Nomad: true}
	t := n.target()
	for _, c := range cs {
		spec := lang.CheckSpecs[c.Name]
		if spec == nil {
			continue
		}
		arg := ""
		if a, ok := c.Args[spec.Cluster.Attr]; ok && spec.Cluster.Attr != "" {
			if v, d := a.Expr.Value(nil); !d.HasErrors() && v.IsKnown() && v.Type() == cty.String && !v.IsNull() {
				arg = v.AsString()
			}
		}
		switch spec.Cluster.Of(arg, t.Kind) {
		case lang.ClusterConsulServers:
			opts.Consul = true
		case lang.ClusterNomadClients:
			opts.Nodes = opts.Nodes || spec.Target == lang.TargetNomadNode
		}
		if spec.Target == lang.TargetJob {
			if a, err := r.checkArgs(n, c); err == nil && a.Job != "" {
				opts.Jobs = append(opts.Jobs, cluster.JobRef{Namespace: a.Namespace, ID: a.Job})
			}
		}
	}
	if t.Kind == lang.TargetConsulServer {
		opts.Consul = true
	}
	if opts.Nodes && t.Kind == lang.TargetNomadNode && t.Name != "" {
		for _, c := range cs {
			if _, ok := c.Args["node"]; ok {
				goto all
			}
		}
		opts.NodeFilters = []cluster.NodeFilter{{Name: exactName(t.Name)}}
	all:
	}
	return r.cfg.Cluster.Snapshot(ctx, opts)
}
