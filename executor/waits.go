package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// wait runs one wait until its check holds, its timeout ends or a stop.
// waitTimeout is the timeout of n's i-th wait as the plan resolved it (a
// timeout may be an expression the planner evaluated), else the runbook's.
func (r *runner) waitTimeout(n *node, i int) time.Duration {
	if i < len(n.inst.Waits) && n.inst.Waits[i].Timeout > 0 {
		return time.Duration(n.inst.Waits[i].Timeout)
	}
	return n.step.Waits[i].Timeout
}

// Node checks follow the node and its allocations with blocking queries,
// consul_maintenance the Consul node's health, the deployment checks the
// deployment (waits_deployment.go); the rest (autopilot health
// and the Raft configuration have no blocking queries) poll with backoff,
// never more than twice a second.
func (r *runner) wait(ctx, soft context.Context, n *node, c *lang.Check, timeout time.Duration) (string, error) {
	args, err := r.checkArgs(n, c)
	if err != nil {
		return "", err
	}
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	wctx, cancel := context.WithTimeout(soft, timeout)
	defer cancel()
	started := r.now()
	last := ""
	observe := func(res checks.Result) {
		if s := res.String(); s != last {
			last = s
			r.emit(Event{Kind: EventWait, Addr: n.addr, Check: c.Name, OK: res.OK, Message: s, Elapsed: r.now().Sub(started)})
		}
	}
	done := func(err error) (string, error) {
		if err == nil {
			return last, nil
		}
		if soft.Err() != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", errInterrupted
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return "", fmt.Errorf("timed out after %s; last seen: %s", timeout, last)
		}
		return "", err
	}
	spec := lang.CheckSpecs[c.Name]
	if spec == nil {
		return "", fmt.Errorf("there is no check named %q", c.Name)
	}
	if r.cfg.Cluster == nil && spec.Wait.Kind != lang.WaitProbe {
		return "", errors.New("no cluster is configured")
	}
	// After an action that restarts the agent, a node check that asks
	// (node_ready, node_version) holds only on a record registered since
	// the action began: the record from before cannot pass.
	// A journal without the action's start (written by an older nrun)
	// falls back to the wait's start: later than the action, so stricter.
	if spec.Wait.Reregistered && restarts(n) {
		args.Since = n.actionAt
		if args.Since.IsZero() {
			args.Since = started
		}
		if args.Node == nil {
			args.Prior = n.prior
		}
	}
	switch spec.Wait.Kind {
	case lang.WaitNode, lang.WaitNodeAllocs:
		if id, ok := r.waitNodeID(wctx, n, args); ok {
			return done(r.waitNodeCheck(wctx, n, c.Name, args, id, observe))
		}
	case lang.WaitDeployment:
		return done(r.waitDeployment(wctx, c.Name, args, n.target(), observe))
	case lang.WaitConsulNode:
		t := n.target()
		if args.Node != nil {
			t = *args.Node
		}
		return done(r.blockConsul(wctx, c.Name, args, n.target(), consulNodeName(t), observe))
	}
	// The poll backs off from PollMin (500ms: at most 2 requests a second)
	// to the wait's interval, 5s when the runbook sets none (LANGUAGE.md).
	interval := c.Interval
	if interval <= 0 {
		// The catalog's interval: 1s for the autopilot checks, which hold
		// only after a settle time of seconds (a 5s poll would add up to
		// one interval to every server of a rolling procedure), else 5s.
		interval = spec.Wait.Interval
	}
	// Autopilot refreshes its health every couple of seconds, so right
	// after a restart it can still report the server as healthy from
	// before: an autopilot-based wait holds only when it has held on
	// every read for Settle.
	settle := time.Duration(0)
	if spec.Wait.Settle {
		settle = r.cfg.Settle
	}
	if spec.Wait.Stable {
		// A server that came back is only done once autopilot itself
		// counts it stable: healthy for server_stabilization_time.
		if st := r.stabilization(wctx, checks.ClusterOf(spec, args, n.target()) == lang.ClusterConsulServers); st > settle {
			settle = st
		}
	}
	var okSince time.Time
	// Autopilot keeps a follower's last Raft stats when it cannot reach it,
	// and gossip may take tens of seconds to call a stopped server failed,
	// so a server that is down can read as healthy, its LastContact frozen
	// at the value from before. server_healthy holds only once autopilot
	// is seen hearing from the server while it reads healthy: it leads, or
	// its LastContact changes between two reads.
	var hear contactWatch
	due := func() time.Time {
		if okSince.IsZero() {
			return time.Time{}
		}
		return okSince.Add(settle)
	}
	return done(r.poll(wctx, interval, due, func() (bool, error) {
		var res checks.Result
		heard := true
		if spec.Wait.Kind == lang.WaitProbe {
			res = checks.EvalHTTP(wctx, args, checks.HTTPProbe(nil))
		} else {
			at := time.Now()
			v, err := r.snapshotFor(wctx, n, []*lang.Check{c})
			if err == nil && spec.Wait.Settle {
				r.settled.add(at, v)
			}
			if err != nil {
				// A server that restarts answers with errors for a
				// moment; that is an observation, not a failure.
				res = checks.Result{Name: c.Name, Observed: "cluster not readable", Reason: err.Error()}
			} else {
				res = checks.Eval(c.Name, args, n.target(), v)
				if spec.Wait.Stable {
					hear.read(c.Name, args, n.target(), v, time.Now())
				}
				if res.OK && okSince.IsZero() && settle > 0 && !spec.Wait.Stable {
					// The reads of earlier settle waits since the last
					// change count when the check holds on each.
					from, reads := r.settled.heldSince(at, interval+r.cfg.PollMin, func(v *cluster.View) bool {
						return checks.Eval(c.Name, args, n.target(), v).OK
					})
					if from.Before(at) {
						okSince = from
						r.log.Printf("%s: wait %s: held on each of %d reads since %s (earlier waits' reads after the last change included)", n.addr, c.Name, reads, from.UTC().Format("15:04:05.000"))
					}
				}
			}
		}
		if !res.OK {
			observe(res)
			okSince = time.Time{}
			return false, nil
		}
		if okSince.IsZero() {
			okSince = time.Now()
		}
		if spec.Wait.Stable {
			heard = hear.since(okSince)
		}
		if !heard {
			res.OK = false
			res.Reason = "autopilot has not heard from the server yet (its last contact with the leader has not changed; a server that is down keeps its old figures for a while)"
		}
		observe(res)
		return heard && time.Since(okSince) >= settle, nil
	}))
}

// poll calls f now, then after PollMin growing by half each time up to max.
// When due returns a time sooner than the next poll (the end of a settle
// time), the next poll is then, though never sooner than PollMin.
func (r *runner) poll(ctx context.Context, max time.Duration, due func() time.Time, f func() (bool, error)) error {
	d := r.cfg.PollMin
	if max < d {
		max = d
	}
	for {
		ok, err := f()
		if err != nil || ok {
			return err
		}
		wait := d
		if due != nil {
			if at := due(); !at.IsZero() && time.Until(at) < wait {
				wait = time.Until(at)
				if wait < r.cfg.PollMin {
					wait = r.cfg.PollMin
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		if d = d * 3 / 2; d > max {
			d = max
		}
	}
}

func (r *runner) waitNodeID(ctx context.Context, n *node, a checks.Args) (string, bool) {
	t := n.target()
	if a.Node != nil {
		t = *a.Node
	} else if t.Kind != lang.TargetNomadNode {
		return "", false
	}
	if r.nomad == nil {
		return "", false
	}
	id, _, found, err := r.findNode(ctx, t)
	if err != nil || !found {
		return "", false
	}
	return id, true
}

// waitNodeCheck re-evaluates a node check on every read of the node and
// its allocations (followNode: woken by the shared stream, or blocking
// queries).
func (r *runner) waitNodeCheck(ctx context.Context, n *node, name string, a checks.Args, id string, observe func(checks.Result)) error {
	ch := make(chan nodeUpdate, 4)
	r.followNode(ctx, id, lang.CheckSpecs[name].Wait.Kind == lang.WaitNodeAllocs, 0, ch)
	var cur *cluster.Node
	var allocs cluster.AllocCount
	haveAllocs := lang.CheckSpecs[name].Wait.Kind != lang.WaitNodeAllocs
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case u := <-ch:
			if u.err != nil {
				continue
			}
			if u.node != nil {
				cur = u.node
			}
			if u.allocs != nil {
				allocs, haveAllocs = *u.allocs, true
			}
			if cur == nil || !haveAllocs {
				continue
			}
			nd := *cur
			nd.Allocs = allocs
			v := &cluster.View{Nomad: &cluster.NomadView{Nodes: []cluster.Node{nd}}}
			t := n.target()
			if a.Node == nil {
				t.ID = nd.ID
			}
			res := checks.Eval(name, a, t, v)
			observe(res)
			if res.OK {
				return nil
			}
		}
	}
}

// blockConsul follows the Consul node's health checks with a blocking query.
func (r *runner) blockConsul(ctx context.Context, name string, a checks.Args, t checks.Target, node string, observe func(checks.Result)) error {
	idx := uint64(0)
	for {
		cn, next, err := r.cfg.Cluster.WaitConsulNode(ctx, node, idx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			observe(checks.Result{Name: name, Observed: "Consul not readable", Reason: err.Error()})
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Second):
			}
			continue
		}
		v := &cluster.View{Consul: &cluster.ConsulView{Nodes: []cluster.ConsulNode{cn}}}
		res := checks.Eval(name, a, t, v)
		observe(res)
		if res.OK {
			return nil
		}
		if next < idx {
			next = 0
		}
		idx = next
	}
}

// stabilization returns autopilot's ServerStabilizationTime, read once per
// run and cluster; 0 when it cannot be read (the wait then settles for
// Config.Settle alone, and the audit log says why).
func (r *runner) stabilization(ctx context.Context, consul bool) time.Duration {
	r.stabMu.Lock()
	defer r.stabMu.Unlock()
	if d, ok := r.stab[consul]; ok {
		return d
	}
	d, err := r.cfg.Cluster.StabilizationTime(ctx, consul)
	if err != nil {
		r.log.Printf("server_healthy: could not read autopilot's server_stabilization_time, settling for %s only: %v", r.cfg.Settle, err)
		return 0
	}
	if r.stab == nil {
		r.stab = map[bool]time.Duration{}
	}
	r.stab[consul] = d
	return d
}

// contactWatch follows the LastContact autopilot reports for the server
// of a server_healthy check, and when it last changed.
type contactWatch struct {
	last      string
	changedAt time.Time
}

// read records one view: a leader (or a server without a LastContact) is
// heard at once; a follower when its LastContact differs from the last
// read's. A read without the server forgets the last value.
func (w *contactWatch) read(name string, a checks.Args, t checks.Target, v *cluster.View, now time.Time) {
	s, ok := checks.ServerOf(name, a, t, v)
	switch {
	case !ok:
		w.last = ""
	case s.Leader || s.LastContact == "":
		w.changedAt = now
	default:
		if w.last != "" && s.LastContact != w.last {
			w.changedAt = now
		}
		w.last = s.LastContact
	}
}

// since reports whether the server was heard at or after t.
func (w *contactWatch) since(t time.Time) bool {
	return !w.changedAt.IsZero() && !w.changedAt.Before(t)
}

// restarts says whether n's action, or an inner action of a composite,
// stops or starts its agent (lang.Effect.Restarts).
func restarts(n *node) bool {
	if n.step.Action != nil {
		return n.step.Action.Effect.Restarts()
	}
	if n.group != nil && n.group.root == n {
		for _, in := range n.group.inner {
			if in.step.Action != nil && in.step.Action.Effect.Restarts() {
				return true
			}
		}
	}
	return false
}

// readPrior reads the target node's record right before a restarting
// action of n when one of its waits needs proof that the agent registered
// again (lang.WaitStrategy.Reregistered): a later record is then told from
// the old one by the servers' own clock. When the record cannot be read
// the waits fall back to comparing with the action's start time.
func (r *runner) readPrior(ctx context.Context, n *node) {
	n.prior = nil
	if r.cfg.Cluster == nil || !restarts(n) {
		return
	}
	want := false
	for _, w := range n.step.Waits {
		if spec := lang.CheckSpecs[w.Name]; spec != nil && spec.Wait.Reregistered {
			want = true
		}
	}
	if !want {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	id, ok := r.waitNodeID(ctx, n, checks.Args{})
	if !ok {
		return
	}
	nd, _, err := r.cfg.Cluster.WaitNode(ctx, id, 0)
	if err != nil || nd.StatusUpdatedAt.IsZero() {
		return
	}
	n.prior = &checks.PriorNode{Status: nd.Status, StatusUpdatedAt: nd.StatusUpdatedAt}
}
