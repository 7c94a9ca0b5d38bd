package executor

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

func exactName(name string) *regexp.Regexp {
	return regexp.MustCompile("^" + regexp.QuoteMeta(name) + "$")
}

// preconditions evaluates the step's preconditions against a fresh view,
// right before the action. leader_not_target with transfer = true moves
// leadership away from the target first.
func (r *runner) preconditions(ctx context.Context, n *node) error {
	pcs := n.step.Preconditions
	if len(pcs) == 0 {
		return nil
	}
	var builtin []*lang.Check
	custom := false
	for _, c := range pcs {
		if c.Name != "" {
			builtin = append(builtin, c)
		} else {
			custom = true
		}
	}
	var view *cluster.View
	if len(builtin) > 0 || (custom && r.cfg.Cluster != nil && n.each != nil && lang.TargetKindOf(n.each.Value.Type()) != lang.TargetNone) {
		if len(builtin) == 0 {
			// Read what each.value is about: its node, or the servers.
			builtin = []*lang.Check{{Name: "node_ready"}}
			if lang.TargetKindOf(n.each.Value.Type()) != lang.TargetNomadNode {
				builtin = []*lang.Check{{Name: "quorum_ok"}}
			}
		}
		var err error
		if view, err = r.readForPreconditions(ctx, n, builtin); err != nil {
			return fmt.Errorf("read the cluster for the preconditions: %w", err)
		}
		// Targets other instances are acting on right now count as down.
		view = r.withClaims(n, view)
	}
	for _, c := range pcs {
		if c.Name == "" {
			if err := r.customPrecondition(n, c, view); err != nil {
				return err
			}
			continue
		}
		args, err := r.checkArgs(n, c)
		if err != nil {
			return fmt.Errorf("precondition %s: %w", c.Name, err)
		}
		var res checks.Result
		if spec := lang.CheckSpecs[c.Name]; spec != nil && spec.Wait.Kind == lang.WaitProbe {
			res = checks.EvalHTTP(ctx, args, checks.HTTPProbe(nil))
		} else {
			res = checks.Eval(c.Name, args, n.target(), view)
		}
		if spec := lang.CheckSpecs[c.Name]; !res.OK && spec != nil && spec.Remedy == lang.RemedyTransferLeadership && args.Transfer {
			if err := r.remedyTransfer(ctx, n, spec, args, view); err != nil {
				return fmt.Errorf("precondition %s: %s; transfer failed: %w", c.Name, res, err)
			}
			// The view is stale after an election: read it again and
			// evaluate every precondition on the new one.
			return r.preconditions(ctx, n)
		}
		r.log.Printf("%s: precondition %s", n.addr, res)
		r.emit(Event{Kind: EventPrecondition, Addr: n.addr, Check: c.Name, OK: res.OK, Message: res.String()})
		if !res.OK {
			return fmt.Errorf("precondition %s", res)
		}
	}
	return nil
}

// preconditionReadLimit bounds how long preconditions wait for a cluster
// that does not answer: long enough for a Raft election (a server that led
// was stopped by an earlier step, and followers forward to an address that
// refuses connections until a new leader is known), short enough that a
// wrong address fails the step soon.
const preconditionReadLimit = 30 * time.Second

// readForPreconditions reads the view the preconditions need, retrying
// while the cluster does not answer. A cluster that cannot be read never
// passes a precondition: after the limit the step fails with the error.
func (r *runner) readForPreconditions(ctx context.Context, n *node, cs []*lang.Check) (*cluster.View, error) {
	var view *cluster.View
	var lastErr error
	err := r.pollUntil(ctx, preconditionReadLimit, func() (bool, string, error) {
		v, err := r.snapshotFor(ctx, n, cs)
		if err != nil {
			if lastErr == nil {
				r.log.Printf("%s: the cluster does not answer, reading again for up to %s (an election?): %v", n.addr, preconditionReadLimit, err)
			}
			lastErr = err
			return false, err.Error(), nil
		}
		view = v
		return true, "", nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, lastErr
	}
	return view, nil
}

// liveEach returns each with each.value refreshed from view when it is a
// cluster object (a server or a node), so a custom condition such as
// each.value.version != var.new_version sees the cluster as it is now, not
// as it was at plan time. Anything else is returned unchanged.
func liveEach(each *lang.Each, view *cluster.View) *lang.Each {
	if each == nil || view == nil || !each.Value.IsWhollyKnown() || each.Value.IsNull() {
		return each
	}
	v := each.Value
	get := func(attr string) string {
		if !v.Type().IsObjectType() || !v.Type().HasAttribute(attr) {
			return ""
		}
		a := v.GetAttr(attr)
		if a.IsNull() || a.Type() != cty.String {
			return ""
		}
		return a.AsString()
	}
	switch lang.TargetKindOf(v.Type()) {
	case lang.TargetNomadServer, lang.TargetConsulServer:
		elem := lang.ServerType
		var raft cluster.RaftView
		if lang.TargetKindOf(v.Type()) == lang.TargetConsulServer {
			if view.Consul == nil {
				return each
			}
			elem, raft = lang.ConsulServerType, view.Consul.Raft
		} else {
			if view.Nomad == nil {
				return each
			}
			raft = view.Nomad.Raft
		}
		for _, ref := range []string{get("id"), get("name"), get("address")} {
			if s, ok := raft.Find(ref); ok {
				return &lang.Each{Key: each.Key, Value: planner.ServerValue(raft, s, elem)}
			}
		}
	case lang.TargetNomadNode:
		if view.Nomad == nil {
			return each
		}
		for _, ref := range []string{get("id"), get("name")} {
			if nd, ok := view.Nomad.Node(ref); ok {
				return &lang.Each{Key: each.Key, Value: planner.NodeValue(nd)}
			}
		}
	}
	return each
}

func (r *runner) customPrecondition(n *node, c *lang.Check, view *cluster.View) error {
	r.scMu.Lock()
	ctx := r.sc.StepEvalContext(n.step, liveEach(n.each, view))
	v, diags := c.Condition.Value(ctx)
	var msg string
	if c.ErrorMessage != nil {
		if m, d := c.ErrorMessage.Value(ctx); !d.HasErrors() && m.IsKnown() && !m.IsNull() && m.Type().FriendlyName() == "string" {
			msg = m.AsString()
		}
	}
	r.scMu.Unlock()
	if msg != "" && r.sens != nil && r.sens.Uses(c.ErrorMessage) {
		// Redaction matches the secret itself, not upper(var.pw).
		msg = "(the error message is computed from a sensitive value and is not shown)"
	}
	if diags.HasErrors() {
		return fmt.Errorf("precondition: %s", diags.Error())
	}
	if !v.IsKnown() || v.IsNull() {
		return errors.New("precondition: the condition is not known")
	}
	ok := v.True()
	shown := "condition holds"
	if !ok {
		shown = msg
	}
	r.log.Printf("%s: precondition custom: %v (%s)", n.addr, ok, shown)
	r.emit(Event{Kind: EventPrecondition, Addr: n.addr, Check: "custom", OK: ok, Message: shown})
	if !ok {
		return fmt.Errorf("precondition failed: %s", msg)
	}
	return nil
}

// serverRef is the live leader as the scheduler sees it.
type serverRef struct{ s cluster.Server }

func (l serverRef) matches(t checks.Target) bool {
	if l.s.Address == "" && l.s.ID == "" {
		return false
	}
	if t.Kind != lang.TargetNomadServer && t.Kind != lang.TargetConsulServer {
		return false
	}
	short, _, _ := strings.Cut(l.s.Name, ".")
	return (t.ID != "" && t.ID == l.s.ID) || (t.Address != "" && t.Address == l.s.Address) ||
		(t.Name != "" && (t.Name == l.s.Name || t.Name == short))
}

// liveLeader reads the current leader of the cluster g's step targets.
// An error means "no known leader": nothing is held back.
func (r *runner) liveLeader(ctx context.Context, g *group) serverRef {
	consul := g.root.target().Kind == lang.TargetConsulServer
	v, err := r.cfg.Cluster.Snapshot(ctx, cluster.SnapshotOptions{Nomad: !consul, Consul: consul})
	if err != nil || v == nil {
		r.log.Printf("leader_last: could not read the leader: %v", err)
		return serverRef{}
	}
	raft := cluster.RaftView{}
	if consul && v.Consul != nil {
		raft = v.Consul.Raft
	} else if v.Nomad != nil {
		raft = v.Nomad.Raft
	}
	l, _ := raft.Leader()
	return serverRef{l}
}

// remedyTransfer moves leadership off n's target in the cluster the check
// reads (its catalog ClusterRule): Consul's through the same code as
// consul_raft_transfer_leader, Nomad's with transferAway.
func (r *runner) remedyTransfer(ctx context.Context, n *node, spec *lang.CheckSpec, args checks.Args, view *cluster.View) error {
	target := n.target()
	if args.Server != nil {
		target = *args.Server
	}
	c := checks.ClusterOf(spec, args, target)
	if lang.RemedyAction(spec.Remedy, c) == nil {
		return fmt.Errorf("%s has no way to transfer leadership in the %s cluster", spec.Name, c.Noun())
	}
	r.settled.begin(time.Now())
	defer func() { r.settled.end(time.Now()) }()
	if c == lang.ClusterConsulServers {
		if r.cfg.Cluster == nil {
			return errors.New("no Consul cluster to transfer leadership in")
		}
		r.append(journal.Record{Kind: journal.KindProbe, Addr: n.addr, Status: "transfer", Detail: "consul leadership off " + targetLabel(target)})
		if _, err := r.consulTransferLeader(ctx, r.cfg.Cluster, n, &target, nil); err != nil || view == nil || view.Consul == nil {
			return err
		}
		// As for Nomad: the new leader's autopilot starts from nothing, so
		// wait until it reports as many healthy voters as before, for the
		// settle time, before the preconditions are read again.
		before := view.Consul.Raft.HealthyVoters()
		var since time.Time
		return r.pollEvery(ctx, 60*time.Second, r.cfg.PollMin, func() (bool, string, error) {
			v, err := r.cfg.Cluster.Snapshot(ctx, cluster.SnapshotOptions{Consul: true})
			if err != nil || v == nil || v.Consul == nil || v.Consul.Raft.HealthyVoters() < before {
				since = time.Time{}
				return false, fmt.Sprintf("fewer than %d healthy Consul voters (%v)", before, err), nil
			}
			if since.IsZero() {
				since = time.Now()
			}
			return time.Since(since) >= r.cfg.Settle, "", nil
		})
	}
	return r.transferAway(ctx, n, args, view)
}

// transferAway moves Nomad leadership from n's target to a healthy voter
// (autopilot healthy and alive, RaftView.Counted),
// preferring a server whose instance of the same step has already finished.
func (r *runner) transferAway(ctx context.Context, n *node, args checks.Args, view *cluster.View) error {
	if r.nomad == nil || view == nil || view.Nomad == nil {
		return errors.New("no Nomad cluster to transfer leadership in")
	}
	raft := view.Nomad.Raft
	leader, ok := raft.Leader()
	if !ok {
		return errors.New("the cluster has no leader")
	}
	var done, others []cluster.Server
	for _, s := range raft.Servers {
		if s.ID == leader.ID || !raft.Counted(s) {
			continue
		}
		finished := false
		for _, o := range r.order {
			if o != n && o.step == n.step && o.status == stFinished && (serverRef{s}).matches(o.target()) {
				finished = true
			}
		}
		if finished {
			done = append(done, s)
		} else {
			others = append(others, s)
		}
	}
	cands := append(done, others...)
	if len(cands) == 0 {
		return errors.New("no other healthy voter to take over")
	}
	to := cands[0]
	r.log.Printf("%s: leader_not_target: transferring leadership from %s to %s", n.addr, leader.Name, to.Name)
	r.emit(Event{Kind: EventInfo, Addr: n.addr, Message: fmt.Sprintf("transferring leadership from %s to %s", leader.Name, to.Name)})
	r.append(journal.Record{Kind: journal.KindProbe, Addr: n.addr, Status: "transfer", Detail: "leadership " + leader.Name + " -> " + to.Name})
	if err := r.nomad.transferLeadership(ctx, to.ID, to.Address); err != nil {
		return err
	}
	// A new leader's autopilot starts from nothing: for its first rounds
	// it reports voters unhealthy that are fine, and quorum_ok, checked
	// again right after this, would refuse on that. Wait until it reports
	// as many healthy voters as before the transfer, for the settle time.
	before := raft.HealthyVoters()
	var since time.Time
	// Polled at PollMin throughout, not backing off: the settle is a
	// few seconds, and a read every 2s would add up to 2s to it.
	return r.pollEvery(ctx, 60*time.Second, r.cfg.PollMin, func() (bool, string, error) {
		v, err := r.cfg.Cluster.Snapshot(ctx, cluster.SnapshotOptions{Nomad: true})
		if err != nil || v == nil || v.Nomad == nil {
			since = time.Time{}
			return false, fmt.Sprintf("no answer (%v)", err), nil
		}
		l, ok := v.Nomad.Raft.Leader()
		if !ok || l.ID == leader.ID {
			since = time.Time{}
			return false, "leader " + l.Name, nil
		}
		h := v.Nomad.Raft.HealthyVoters()
		obs := fmt.Sprintf("leader %s, %d/%d voters healthy (%d before the transfer)", l.Name, h, v.Nomad.Raft.Voters(), before)
		if h < before {
			since = time.Time{}
			return false, obs, nil
		}
		if since.IsZero() {
			since = time.Now()
		}
		return time.Since(since) >= r.cfg.Settle, obs, nil
	})
}

// pollUntil polls cond with backoff from PollMin (never faster) up to 2s
// until it holds or limit passes.
func (r *runner) pollUntil(ctx context.Context, limit time.Duration, cond func() (bool, string, error)) error {
	return r.pollEvery(ctx, limit, 2*time.Second, cond)
}

// pollEvery is pollUntil backing off up to max (never below PollMin).
func (r *runner) pollEvery(ctx context.Context, limit, max time.Duration, cond func() (bool, string, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if max < r.cfg.PollMin {
		max = r.cfg.PollMin
	}
	d := r.cfg.PollMin
	last := ""
	for {
		ok, obs, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		last = obs
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out after %s (last seen: %s)", limit, last)
		case <-time.After(d):
		}
		if d = d * 3 / 2; d > max {
			d = max
		}
	}
}
