package executor

import (
	"context"
	"sync"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// gate closes the race between instances that run at the same time: two
// instances of one wave could both read a healthy cluster, both pass
// quorum_ok and both take a voter down. Checking and claiming happen under
// one lock, and a claimed target counts as down for every later check
// until its instance ends.
type gate struct {
	// mu is held from precondition evaluation until the target is
	// claimed, so no other disruptive instance evaluates in between. One
	// lock covers both clusters: Nomad and Consul servers often share
	// hosts, and the cost is only that checks of the two queue.
	mu sync.Mutex
	// claimMu guards claims, which non-disruptive checks read too.
	claimMu sync.Mutex
	claims  map[*node]checks.Target
}

// disruptive says whether an action can take its target down or out, so
// its preconditions must hold right before every execution. Snapshots and
// effect = "none" leave the target as it was.
func disruptive(a *lang.Action) bool {
	return a != nil && a.Effect != "" && a.Effect != lang.EffectNone && a.Effect != lang.EffectSnapshot
}

// compositeDisruptive says whether any inner step of a composite is.
func compositeDisruptive(g *group) bool {
	for _, in := range g.inner {
		if disruptive(in.step.Action) {
			return true
		}
	}
	return false
}

// checkAndClaim evaluates n's preconditions live and, when n is
// disruptive, claims n's target before another instance can evaluate.
func (r *runner) checkAndClaim(ctx context.Context, n *node, disrupt bool) error {
	if !disrupt {
		return r.preconditions(ctx, n)
	}
	r.gate.mu.Lock()
	defer r.gate.mu.Unlock()
	if err := r.preconditions(ctx, n); err != nil {
		return err
	}
	r.claim(n)
	return nil
}

// claim marks n's target as in flight without checking (an instance that
// resumes half done has its target down already).
func (r *runner) claim(n *node) {
	r.gate.claimMu.Lock()
	defer r.gate.claimMu.Unlock()
	if r.gate.claims == nil {
		r.gate.claims = map[*node]checks.Target{}
	}
	r.gate.claims[n] = n.target()
}

// unclaim releases n's claim when the instance ends, whatever its status.
func (r *runner) unclaim(n *node) {
	r.gate.claimMu.Lock()
	defer r.gate.claimMu.Unlock()
	delete(r.gate.claims, n)
}

// withClaims returns view with the servers other instances have claimed
// marked unhealthy, so quorum_ok counts them as down. Claims of n's own
// group (n itself, its composite, its siblings) are left out: they are
// about n's own target. view itself is not changed; it may be shared.
func (r *runner) withClaims(n *node, view *cluster.View) *cluster.View {
	if view == nil {
		return nil
	}
	r.gate.claimMu.Lock()
	var ts []checks.Target
	for o, t := range r.gate.claims {
		if o == n || (o.group != nil && o.group == n.group) {
			continue
		}
		ts = append(ts, t)
	}
	r.gate.claimMu.Unlock()
	if len(ts) == 0 {
		return view
	}
	mark := func(raft cluster.RaftView, kind lang.TargetKind) cluster.RaftView {
		raft.Servers = append([]cluster.Server(nil), raft.Servers...)
		for i, s := range raft.Servers {
			for _, t := range ts {
				if t.Kind == kind && (serverRef{s}).matches(t) {
					raft.Servers[i].Healthy = false
				}
			}
		}
		return raft
	}
	out := *view
	if view.Nomad != nil {
		nv := *view.Nomad
		nv.Raft = mark(nv.Raft, lang.TargetNomadServer)
		out.Nomad = &nv
	}
	if view.Consul != nil {
		cv := *view.Consul
		cv.Raft = mark(cv.Raft, lang.TargetConsulServer)
		out.Consul = &cv
	}
	return &out
}
