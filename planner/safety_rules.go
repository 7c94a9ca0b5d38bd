package planner

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/lang"
)

// This file holds the structural rules: every rule but NR-S002.

// verb says what an effect does, for Details.
func verb(e lang.Effect) string {
	switch e {
	case lang.EffectRestart:
		return "restarts"
	case lang.EffectStop:
		return "stops"
	case lang.EffectDestroy:
		return "destroys"
	case lang.EffectLeave:
		return "forces out"
	case lang.EffectRemovePeer:
		return "removes from Raft"
	case lang.EffectStart:
		return "starts"
	case lang.EffectCreate:
		return "creates"
	}
	return "acts on"
}

// forEachStep calls fn for every step with an action: top-level action
// steps and the inner steps of composites.
func (s *safety) forEachStep(fn func(f *facts)) {
	for _, u := range s.units {
		if len(u.inner) == 0 {
			fn(u)
			continue
		}
		for _, in := range u.inner {
			fn(in)
		}
	}
}

// top returns the top-level step of f.
func top(f *facts) *facts {
	if f.outer != nil {
		return f.outer
	}
	return f
}

// disruptedCluster returns the cluster whose server f restarts, stops,
// destroys or removes, if any.
func (s *safety) disruptedCluster(f *facts) cluster {
	for _, c := range []cluster{clusterNomad, clusterConsul} {
		if s.disrupts(f, c) {
			return c
		}
	}
	return clusterNone
}

// checkQuorumPrecondition is NR-S001.
func (s *safety) checkQuorumPrecondition() {
	s.forEachStep(func(f *facts) {
		c := s.disruptedCluster(f)
		if c == clusterNone || s.proves(f.step.Preconditions, lang.ProvesQuorum, c, f.tgt.kind) ||
			f.outer != nil && s.proves(f.outer.step.Preconditions, lang.ProvesQuorum, c, f.tgt.kind) {
			return
		}
		why := s.otherCluster(f.step.Preconditions, lang.ProvesQuorum, c, f.tgt.kind)
		if why == "" && f.outer != nil {
			why = s.otherCluster(f.outer.step.Preconditions, lang.ProvesQuorum, c, f.tgt.kind)
		}
		where := "this step"
		if f.outer != nil {
			where = "the composite " + f.outer.addr().String() + " (it then guards each instance)"
		}
		s.report(f.step, RuleQuorumPrecondition, hcl.DiagError, f.step.DeclRange,
			"Missing quorum precondition",
			fmt.Sprintf("%s %s %s servers but does not check their quorum first.%s Add `precondition \"quorum_ok\" {}` to %s, so that each instance only starts while the cluster can lose this server and keep quorum.",
				f.addr(), verb(f.effectOn(c)), c, why, where))
	})
}

// effectOn is the effect that makes f disrupt c.
func (f *facts) effectOn(c cluster) lang.Effect {
	if clusterOf(f.tgt.kind) == c && f.effect != lang.EffectCreate {
		return f.effect
	}
	return lang.EffectDestroy
}

// checkLeaderLast is NR-S003. A for_each over `followers` is not exempt:
// the followers are the plan's, and an election during the run (a
// follower's restart is enough) can make one still to come the leader.
func (s *safety) checkLeaderLast() {
	for _, u := range s.units {
		if u.step.ForEach == nil || u.step.Order == lang.OrderLeaderLast || s.proves(u.step.Preconditions, lang.ProvesLeaderNotTarget, clusterOf(u.tgt.kind), u.tgt.kind) {
			continue
		}
		steps := u.inner
		if len(steps) == 0 {
			steps = []*facts{u}
		}
		var bad *facts
		for _, f := range steps {
			if !f.tgt.perInstance || !f.tgt.isServer() || s.proves(f.step.Preconditions, lang.ProvesLeaderNotTarget, clusterOf(f.tgt.kind), f.tgt.kind) ||
				f.outer != nil && s.proves(f.outer.step.Preconditions, lang.ProvesLeaderNotTarget, clusterOf(f.tgt.kind), f.tgt.kind) {
				continue
			}
			switch f.effect {
			case lang.EffectRestart, lang.EffectStop, lang.EffectDestroy:
				bad = f
			}
			if bad != nil {
				break
			}
		}
		if bad == nil {
			continue
		}
		s.report(u.step, RuleLeaderLast, hcl.DiagError, u.step.DeclRange,
			"Leader may go first",
			fmt.Sprintf("%s %s %s servers one by one, but nothing keeps the Raft leader from going first, which forces an election per restart and can hand leadership to a server that is about to go down. Add order = \"leader_last\" to %s, or a `precondition \"leader_not_target\" { transfer = true }` that moves leadership away before each instance.",
				u.addr(), verb(bad.effect), clusterOf(bad.tgt.kind), u.addr()))
	}
}

// checkSnapshotFirst is NR-S004: the first step to disrupt a cluster's
// servers must come after a snapshot of that cluster. Only steps with no
// disrupting ancestor are reported, so a runbook missing its snapshot gets
// one error, not one per step.
func (s *safety) checkSnapshotFirst() {
	for _, c := range []cluster{clusterNomad, clusterConsul} {
		var snaps, disrupting []*facts
		for _, u := range s.units {
			if snapshots(u.step, c) {
				snaps = append(snaps, u)
			}
			for _, in := range u.inner {
				if snapshots(in.step, c) {
					snaps = append(snaps, u)
					break
				}
			}
			if s.unitDisrupts(u, c) {
				disrupting = append(disrupting, u)
			}
		}
		disruptingBits := make(bitset, (len(s.units)+63)/64)
		for _, u := range disrupting {
			disruptingBits.set(u.pos)
		}
		for _, u := range disrupting {
			covered := false
			for _, sn := range snaps {
				if sn != u && s.g.Ancestor(sn.addr(), u.addr()) {
					covered = true
					break
				}
			}
			if covered || s.innerSnapshotFirst(u, c) {
				continue
			}
			if s.ancestorBits(u).intersects(disruptingBits) {
				continue // only the first disrupting steps are reported
			}
			s.report(u.step, RuleSnapshotFirst, hcl.DiagError, u.step.DeclRange,
				"No snapshot before disruption",
				fmt.Sprintf("%s is the first step that disrupts %s servers, and no %s step runs before it. Add a step with action %q and make %s depend on it (depends_on = [step.NAME]), so the cluster state can be restored if quorum is lost.",
					u.addr(), c, snapshotAction(c), snapshotAction(c), u.addr()))
		}
	}
}

func (b bitset) intersects(c bitset) bool {
	for i := range min(len(b), len(c)) {
		if b[i]&c[i] != 0 {
			return true
		}
	}
	return false
}

// innerSnapshotFirst reports whether a composite saves a snapshot before
// each of its disrupting inner steps.
func (s *safety) innerSnapshotFirst(u *facts, c cluster) bool {
	ig := s.g.Inner(u.addr())
	if ig == nil {
		return false
	}
	for _, in := range u.inner {
		if !s.disrupts(in, c) {
			continue
		}
		ok := false
		for _, sn := range u.inner {
			if snapshots(sn.step, c) && ig.Ancestor(sn.addr(), in.addr()) {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// checkWaitForHealth is NR-S005: a server that goes down and comes back
// must be seen healthy before the next disruption may start.
func (s *safety) checkWaitForHealth() {
	for _, u := range s.units {
		if len(u.inner) == 0 {
			c := clusterOf(u.tgt.kind)
			if c == clusterNone || u.effect != lang.EffectRestart && u.effect != lang.EffectStart {
				continue
			}
			if s.proves(u.step.Waits, lang.ProvesHealthy, c, u.tgt.kind) || !s.moreDisruption(u, c) {
				continue
			}
			why := s.otherCluster(u.step.Waits, lang.ProvesHealthy, c, u.tgt.kind)
			s.report(u.step, RuleWaitForHealth, hcl.DiagError, u.step.DeclRange,
				"No health wait after server "+strings.TrimSuffix(verb(u.effect), "s"),
				fmt.Sprintf("%s %s %s servers but does not wait for them to be healthy, so the next instance or step may take another server down while this one is still catching up.%s Add `wait \"server_healthy\" { timeout = \"5m\" }` to %s.",
					u.addr(), verb(u.effect), c, why, u.addr()))
			continue
		}
		ig := s.g.Inner(u.addr())
		for _, in := range u.inner {
			c := clusterOf(in.tgt.kind)
			if c == clusterNone || !in.tgt.perInstance || in.effect != lang.EffectRestart && in.effect != lang.EffectStart {
				continue
			}
			ok := s.proves(u.step.Waits, lang.ProvesHealthy, c, in.tgt.kind) || s.proves(in.step.Waits, lang.ProvesHealthy, c, in.tgt.kind)
			for _, w := range u.inner {
				if ig != nil && ig.Ancestor(in.addr(), w.addr()) && s.proves(w.step.Waits, lang.ProvesHealthy, c, in.tgt.kind) {
					ok = true
				}
			}
			if ok || !s.moreDisruption(u, c) {
				continue
			}
			s.report(in.step, RuleWaitForHealth, hcl.DiagError, in.step.DeclRange,
				"No health wait after server "+strings.TrimSuffix(verb(in.effect), "s"),
				fmt.Sprintf("%s %s the instance's %s server but nothing in %s waits for it to be healthy, so the next instance may take another server down while this one is still catching up. Add `wait \"server_healthy\" { timeout = \"5m\" }` to %s.",
					in.addr(), verb(in.effect), c, u.addr(), in.addr()))
		}
	}
}

// moreDisruption reports whether another server of c can be disrupted
// after u starts: a second instance of u, or another disrupting step that
// is not an ancestor of u.
func (s *safety) moreDisruption(u *facts, c cluster) bool {
	if u.count > 1 {
		return true
	}
	for _, v := range s.units {
		if v != u && s.unitDisrupts(v, c) && !s.g.Ancestor(v.addr(), u.addr()) {
			return true
		}
	}
	return false
}

// checkDrainBeforeDestroy is NR-S006.
func (s *safety) checkDrainBeforeDestroy() {
	s.forEachStep(func(f *facts) {
		t := target{}
		switch {
		case f.tgt.kind == lang.TargetNomadNode && (f.effect == lang.EffectStop || f.effect == lang.EffectDestroy):
			t = f.tgt
		default:
			d, ok := f.destroysKind(func(k lang.TargetKind) bool { return k == lang.TargetNomadNode })
			if !ok {
				return
			}
			t = d
		}
		var drains []*facts
		s.forEachStep(func(d *facts) {
			if spec := actionSpec(d.step); spec != nil && spec.Effect == lang.EffectDrain && s.covers(d.tgt, t) && s.before(d, f) {
				drains = append(drains, d)
			}
		})
		problem := ""
		switch {
		case len(drains) == 0:
			problem = fmt.Sprintf("no nomad_node_drain step on the same nodes runs before it, so allocations are killed instead of migrated. Add a step with action \"nomad_node_drain\" { deadline = \"30m\" } and a `wait \"node_drained\"` over the same nodes, and make %s depend on it.", f.addr())
		default:
			finite := false
			for _, d := range drains {
				if s.finiteDeadline(d) {
					finite = true
					if s.drainedWaitBetween(d, f, t) {
						return
					}
				}
			}
			if !finite {
				problem = fmt.Sprintf("the drain before it (%s) has no finite deadline, so it can hang for ever or, forced, stop allocations at once. Set deadline = \"30m\" (or another positive duration) on its nomad_node_drain action.", drains[0].addr())
			} else {
				problem = fmt.Sprintf("nothing between the drain (%s) and this step waits for the drain to really finish (Nomad can report a drain complete while allocations still run, nomad#14293). Add `wait \"node_drained\" { timeout = \"30m\" }` to the drain step.", drains[0].addr())
			}
		}
		s.report(f.step, RuleDrainBeforeDestroy, hcl.DiagError, f.step.DeclRange,
			"Client node not drained first",
			fmt.Sprintf("%s %s Nomad client nodes, but %s", f.addr(), verb(f.effect), problem))
	})
}

// before reports whether step a (top-level or inner) must finish before b
// starts; inner steps of one composite are compared within one instance.
func (s *safety) before(a, b *facts) bool {
	if a.outer != nil && b.outer != nil && a.outer == b.outer {
		ig := s.g.Inner(a.outer.addr())
		return ig != nil && ig.Ancestor(a.addr(), b.addr())
	}
	return a != b && s.g.Ancestor(top(a).addr(), top(b).addr())
}

// finiteDeadline reports whether a drain step has a positive deadline.
func (s *safety) finiteDeadline(d *facts) bool {
	e := s.actionArg(d.step, "deadline")
	if e == nil || s.boolArg(d.step, "force", false) {
		return false
	}
	if f := s.actionArg(d.step, "force"); f != nil && s.opts.Plan {
		// force not known at plan is taken as set: the worst case.
		if v, diags := f.Value(s.ctx); diags.HasErrors() || !v.IsKnown() {
			return false
		}
	}
	v, diags := e.Value(s.ctx)
	if diags.HasErrors() || !v.IsKnown() || v.Type() != cty.String {
		// Not known offline: decided at plan, where a deadline still
		// unknown is no proof of a finite one.
		return !s.opts.Plan
	}
	if v.IsNull() {
		return false
	}
	str := strings.TrimSpace(v.AsString())
	return str != "" && !strings.HasPrefix(str, "-") && strings.Trim(str, "0smh.") != ""
}

// drainedWaitBetween reports whether a node_drained wait on the nodes t
// completes after drain d starts and before f starts.
func (s *safety) drainedWaitBetween(d, f *facts, t target) bool {
	if s.proves(d.step.Waits, lang.ProvesDrained, clusterNone, t.kind) {
		return true
	}
	found := false
	s.forEachStep(func(w *facts) {
		if found || !s.proves(w.step.Waits, lang.ProvesDrained, clusterNone, t.kind) {
			return
		}
		if (s.covers(w.tgt, t) || w == f) && s.before(d, w) && (w == f || s.before(w, f)) {
			found = true
		}
	})
	return found
}

// checkNoRejoin is NR-S007: force-leave and remove-peer only stick for a
// server that is already stopped.
func (s *safety) checkNoRejoin() {
	s.forEachStep(func(f *facts) {
		if !f.tgt.isServer() || f.effect != lang.EffectLeave && f.effect != lang.EffectRemovePeer {
			return
		}
		prior := s.priorState(f, f.tgt)
		if prior.status != statusUp {
			return
		}
		how := "Make it depend on a step that stops or destroys the same servers (exec with effect = \"stop\", or a terraform_apply that destroys them)."
		if f.outer != nil {
			how = fmt.Sprintf("Inside %s, add depends_on = [step.STOP] naming the inner step that stops the server; being in the same composite is not enough, the stop must finish first.", f.outer.addr())
		}
		s.report(f.step, RuleNoRejoin, hcl.DiagError, f.step.DeclRange,
			"Removed server may rejoin",
			fmt.Sprintf("%s %s %s servers that no earlier step has stopped. A live server that is forced out or removed from the peer set rejoins at once, and the voter count it leaves behind is wrong. %s",
				f.addr(), verb(f.effect), clusterOf(f.tgt.kind), how))
	})
}

// checkMaintIsNotRemoval is NR-S008, a warning.
func (s *safety) checkMaintIsNotRemoval() {
	s.forEachStep(func(f *facts) {
		var t target
		switch {
		case f.tgt.kind == lang.TargetConsulServer && f.effect == lang.EffectDestroy:
			t = f.tgt
		default:
			d, ok := f.destroysKind(func(k lang.TargetKind) bool { return k == lang.TargetConsulServer })
			if !ok {
				return
			}
			t = d
		}
		prior := s.priorState(f, t)
		if !prior.maint || prior.status == statusRemoved {
			return
		}
		s.report(f.step, RuleMaintIsNotRemoval, hcl.DiagWarning, f.step.DeclRange,
			"Maintenance is not removal",
			fmt.Sprintf("%s %s Consul servers that were only put in maintenance. `consul maint` registers a failing health check; the server stays a Raft voter, so destroying it leaves a dead voter behind and costs failure tolerance. Remove it from Raft first with consul_raft_remove_peer (after stopping it) and make %s depend on that step.",
				f.addr(), verb(f.effect), f.addr()))
	})
}

// restartLike reports whether u takes members of kind down and brings them
// back: a restart, or a composite that stops (or restarts) and starts.
func restartLike(u *facts, kind lang.TargetKind) bool {
	if len(u.inner) == 0 {
		return u.tgt.kind == kind && u.effect == lang.EffectRestart
	}
	stop, start := false, false
	for _, in := range u.inner {
		if in.tgt.kind != kind {
			continue
		}
		switch in.effect {
		case lang.EffectRestart:
			return true
		case lang.EffectStop:
			stop = true
		case lang.EffectStart:
			start = true
		}
	}
	return stop && start
}

// checkServersFirst is NR-S009: in an upgrade of both, servers go first.
func (s *safety) checkServersFirst() {
	var servers, clients []*facts
	for _, u := range s.units {
		if restartLike(u, lang.TargetNomadServer) {
			servers = append(servers, u)
		}
		if restartLike(u, lang.TargetNomadNode) {
			clients = append(clients, u)
		}
	}
	if len(servers) == 0 {
		return
	}
	for _, c := range clients {
		var missing []*facts
		for _, sv := range servers {
			if sv != c && !s.g.Ancestor(sv.addr(), c.addr()) {
				missing = append(missing, sv)
			}
		}
		if len(missing) == 0 {
			continue
		}
		s.report(c.step, RuleServersFirst, hcl.DiagError, c.step.DeclRange,
			"Clients before servers",
			fmt.Sprintf("%s restarts Nomad clients but does not depend on %s, which restarts Nomad servers. Clients must not run a newer version than the servers, and restarting both at once risks losing quorum and client heartbeats together. Add depends_on = [%s] to %s.",
				c.addr(), addrList(missing), strings.Join(addrStrings(missing), ", "), c.addr()))
	}
}

func addrStrings(fs []*facts) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.addr().String()
	}
	return out
}

// isRemoval reports whether f takes servers of c out for good.
func isRemoval(f *facts, c cluster) bool {
	if _, ok := f.destroysKind(func(k lang.TargetKind) bool { return clusterOf(k) == c }); ok {
		return true
	}
	if clusterOf(f.tgt.kind) != c {
		return false
	}
	switch f.effect {
	case lang.EffectStop, lang.EffectDestroy, lang.EffectLeave, lang.EffectRemovePeer:
		return true
	}
	return false
}

// proofOfJoin reports whether checks prove new servers of c are voters.
// k is the kind of the checking step's target.
func (s *safety) proofOfJoin(checks []*lang.Check, c cluster, k lang.TargetKind) bool {
	return s.proves(checks, lang.ProvesJoined, c, k)
}

// checkNewBeforeOld is NR-S010: in a migration, old servers go only after
// a wait proves the new ones are voters.
func (s *safety) checkNewBeforeOld() {
	for _, c := range []cluster{clusterNomad, clusterConsul} {
		var creators []*facts
		s.forEachStep(func(f *facts) {
			if f.creates[c] > 0 || f.createsUnknown {
				creators = append(creators, f)
			}
		})
		if len(creators) == 0 {
			continue
		}
		reported := map[*facts]bool{}
		s.forEachStep(func(f *facts) {
			if reported[top(f)] || !isRemoval(f, c) || s.proofOfJoin(f.step.Preconditions, c, f.tgt.kind) ||
				f.outer != nil && s.proofOfJoin(f.outer.step.Preconditions, c, f.tgt.kind) {
				return
			}
			proved := false
			s.forEachStep(func(w *facts) {
				// A step's own waits run after its action, so the removal
				// step itself never proves anything.
				if proved || w == f || !s.proofOfJoin(w.step.Waits, c, w.tgt.kind) || !s.before(w, f) {
					return
				}
				for _, cr := range creators {
					if cr == w || s.before(cr, w) {
						proved = true
					}
				}
			})
			if !proved {
				for _, u := range s.units {
					if len(u.inner) > 0 && s.proofOfJoin(u.step.Waits, c, u.tgt.kind) && s.g.Ancestor(u.addr(), top(f).addr()) {
						for _, cr := range creators {
							if top(cr) == u || s.before(cr, u) {
								proved = true
							}
						}
					}
				}
			}
			if proved {
				return
			}
			reported[top(f)] = true
			s.report(f.step, RuleNewBeforeOld, hcl.DiagError, f.step.DeclRange,
				"Old servers removed before new ones joined",
				fmt.Sprintf("%s %s old %s servers while %s adds new ones, but no wait proves the new servers are Raft voters before the old ones go. Add `wait \"servers_healthy\" { count = N  timeout = \"10m\" }` (N = old + new servers) or `wait \"raft_peer_present\"` to %s or a step after it, and make %s depend on that step.",
					f.addr(), verb(f.effectOn(c)), c, addrList(creators), creators[0].addr(), f.addr()))
		})
	}
}
