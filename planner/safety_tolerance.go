package planner

import (
	"fmt"
	"math/bits"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/addrs"
	"github.com/nrun-dev/nrun/lang"
)

// This file models what steps do to the servers they target (up, down,
// removed) and proves NR-S002 with the closure search of safety_closure.go.
//
// The quantity tracked is the pressure 2·D − V, where D is the number of
// voters down and V the number of voters. A cluster with V voters needs
// V/2+1 of them and so tolerates V − (V/2+1) down; D exceeds that exactly
// when 2·D ≥ V. Pressure is additive over steps, so the worst moment of a
// schedule is a max-weight problem, and the cluster is safe when the worst
// reachable pressure stays below 0, that is when the steps' contributions
// sum to less than the initial V.

// status is what a set of servers (or nodes) is known to be in.
type status int8

const (
	statusUp status = iota
	statusDown
	statusRemoved
)

// setState is a target set's state before a step runs.
type setState struct {
	status status
	maint  bool // put in Consul maintenance and not taken out of it
}

// point is a change to the cluster: voters down and voter-set size.
type point struct{ down, voters int }

func (p point) add(q point) point { return point{p.down + q.down, p.voters + q.voters} }
func (p point) times(k int) point { return point{p.down * k, p.voters * k} }
func (p point) pressure() int64   { return 2*int64(p.down) - int64(p.voters) }

// worse returns the point with the higher pressure, p on a tie.
func worse(p, q point) point {
	if q.pressure() > p.pressure() {
		return q
	}
	return p
}

// runningPoint is a running step's contribution, as the closure search
// counts it: the worst of its run, its end and its start.
func runningPoint(run, fin point) point  { return worse(worse(run, fin), point{}) }
func (s *safety) enableOf(f *facts) bool { return s.boolArg(f.step, "enable", true) }

// boolArg evaluates a literal bool action argument, def when absent or not
// known offline.
func (s *safety) boolArg(st *lang.Step, name string, def bool) bool {
	e := s.actionArg(st, name)
	if e == nil {
		return def
	}
	v, diags := e.Value(s.ctx)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.Bool {
		return def
	}
	return v.True()
}

// apply returns the state of set t after step f ran on it.
func (s *safety) apply(st setState, f *facts, t target) setState {
	hit := s.covers(f.tgt, t)
	if hit {
		switch f.effect {
		case lang.EffectRestart, lang.EffectStart:
			if st.status != statusRemoved || f.effect == lang.EffectStart {
				st.status = statusUp
			}
		case lang.EffectStop, lang.EffectDestroy:
			if st.status != statusRemoved {
				st.status = statusDown
			}
		case lang.EffectLeave, lang.EffectRemovePeer:
			st.status = statusRemoved
		case lang.EffectMaintenance:
			st.maint = s.enableOf(f)
		}
	}
	for _, d := range f.destroys {
		if s.covers(d, t) && st.status != statusRemoved {
			st.status = statusDown
		}
	}
	return st
}

// touches reports whether top-level step u acts on set t at all.
func (s *safety) touches(u *facts, t target) bool {
	hit := func(f *facts) bool {
		return s.covers(f.tgt, t) || slices.ContainsFunc(f.destroys, func(d target) bool { return s.covers(d, t) })
	}
	return hit(u) || slices.ContainsFunc(u.inner, hit)
}

// unitApply applies a whole top-level step, all inner steps of a composite
// in their order.
func (s *safety) unitApply(st setState, u *facts, t target) setState {
	if len(u.inner) == 0 {
		return s.apply(st, u, t)
	}
	for _, in := range u.inner {
		st = s.apply(st, in, t)
	}
	return st
}

// priorState is the state of set t when step f (top-level or inner)
// starts, from the steps that must have finished before it. Steps that may
// or may not have run do not count: the rules that use this want proof.
func (s *safety) priorState(f *facts, t target) setState {
	key := priorKey{f, t.set}
	if st, ok := s.prior[key]; ok {
		return st
	}
	st := s.computePrior(f, t)
	s.prior[key] = st
	return st
}

type priorKey struct {
	f   *facts
	set string
}

func (s *safety) computePrior(f *facts, t target) setState {
	var st setState
	top := f
	if f.outer != nil {
		top = f.outer
	}
	// The ancestors of top that touch t, in graph order: one AND of two
	// bitsets instead of an Ancestor call per earlier step.
	anc, touch := s.ancestorBits(top), s.touchBits(t)
	for w := range anc {
		word := anc[w] & touch[w]
		for word != 0 {
			i := w*64 + bits.TrailingZeros64(word)
			word &= word - 1
			st = s.unitApply(st, s.units[i], t)
		}
	}
	if f.outer != nil {
		ig := s.g.Inner(f.outer.addr())
		for _, in := range f.outer.inner[:f.pos] {
			if ig != nil && ig.Ancestor(in.addr(), f.addr()) {
				st = s.apply(st, in, t)
			}
		}
	}
	return st
}

// ancestorBits returns the set of units (by pos) that must finish before
// top-level step u starts. The graph's own bitsets are used when its order
// is the units' order, which it is unless the graph lost a step.
func (s *safety) ancestorBits(u *facts) bitset {
	if len(s.g.order) == len(s.units) {
		return s.g.ancestors()[u.pos]
	}
	b := make(bitset, (len(s.units)+63)/64)
	for _, v := range s.units[:u.pos] {
		if s.g.Ancestor(v.addr(), u.addr()) {
			b.set(v.pos)
		}
	}
	return b
}

// touchBits returns the set of units that act on target set t, cached.
func (s *safety) touchBits(t target) bitset {
	if b, ok := s.touch[t.set]; ok {
		return b
	}
	b := make(bitset, (len(s.units)+63)/64)
	for _, v := range s.changers {
		if s.touches(v, t) {
			b.set(v.pos)
		}
	}
	s.touch[t.set] = b
	return b
}

// members is how many servers one instance of f acts on.
func (s *safety) members(f *facts, t target) int {
	if t.perInstance {
		return 1
	}
	if t.members != nil {
		return len(t.members)
	}
	if strings.HasPrefix(t.set, "data.") && !strings.Contains(t.set, "[") {
		var e hcl.Expression
		if f.step.Target != nil {
			e = f.step.Target
		} else if spec := lang.ActionSpecs[actionType(f.step)]; spec != nil && spec.TargetAttr != "" {
			e = s.actionArg(f.step, spec.TargetAttr)
		}
		n, _ := s.countOf(e, t)
		return n
	}
	return 1
}

func actionType(st *lang.Step) string {
	if st.Action == nil {
		return ""
	}
	return st.Action.Type
}

// instanceEffect is what one instance of an action step does to cluster c:
// its worst point while it runs and its net change once finished.
func (s *safety) instanceEffect(f *facts, c cluster) (run, fin point) {
	if clusterOf(f.tgt.kind) == c {
		prior := s.priorState(f, f.tgt)
		m := s.members(f, f.tgt)
		switch f.effect {
		case lang.EffectRestart:
			if prior.status == statusUp {
				run = point{down: m}
			}
		case lang.EffectStop, lang.EffectDestroy:
			if prior.status == statusUp {
				run = point{down: m}
				fin = run
			}
		case lang.EffectStart:
			if prior.status == statusDown {
				fin = point{down: -m}
			}
			// A server back from outside Raft, proven a voter again.
			if k := s.rejoinVoters(f, c); k > 0 {
				fin = fin.add(point{voters: k})
			}
		case lang.EffectLeave, lang.EffectRemovePeer:
			switch prior.status {
			case statusDown:
				fin = point{down: -m, voters: -m}
			}
			// A live server that is forced out or removed rejoins at
			// once (NR-S007 reports it), so the voter set is unchanged.
		}
	}
	var gone point
	for i, d := range f.destroys {
		if clusterOf(d.kind) == c && s.priorState(f, d).status == statusUp {
			gone.down += f.destroysCount[i]
		}
	}
	run = worse(run, run.add(gone))
	fin = fin.add(gone)
	if k := f.creates[c]; k > 0 {
		fin = fin.add(point{voters: k})
	}
	return run, fin
}

// compositeEffect is what one instance of a composite does to cluster c,
// found by the same closure search over its inner DAG.
func (s *safety) compositeEffect(u *facts, c cluster) (run, fin point) {
	ig := s.g.Inner(u.addr())
	nodes := make([]closureNode, len(u.inner))
	runs := make([]point, len(u.inner))
	fins := make([]point, len(u.inner))
	idx := map[addrs.Step]int{}
	for i, in := range u.inner {
		idx[in.addr()] = i
	}
	for i, in := range u.inner {
		runs[i], fins[i] = s.instanceEffect(in, c)
		nodes[i] = closureNode{run: runs[i].pressure(), fin: fins[i].pressure()}
		if ig != nil {
			for _, p := range ig.Preds(in.addr()) {
				if j, ok := idx[p]; ok {
					nodes[i].preds = append(nodes[i].preds, j)
				}
			}
		}
		fin = fin.add(fins[i])
	}
	_, states := worstMoment(nodes)
	for i, st := range states {
		switch st {
		case stateRunning:
			run = run.add(runningPoint(runs[i], fins[i]))
		case stateFinished:
			run = run.add(fins[i])
		}
	}
	return worse(run, fin), fin
}

// stepProfile spreads one instance's effect over a step's instances: at
// worst k instances have finished and min(parallel, count-k) are at their
// worst point.
func stepProfile(run, fin point, count, parallel int) (worst point, total point) {
	worst = point{}
	for k := 0; k <= count; k++ {
		p := fin.times(k).add(run.times(min(parallel, count-k)))
		worst = worse(worst, p)
	}
	return worst, fin.times(count)
}

// maxToleranceRounds bounds how many NR-S002 findings one cluster gets.
const maxToleranceRounds = 10

// checkFailureTolerance proves NR-S002 for cluster c, or reports the worst
// moment it found, blames one step, sets that step aside and looks again,
// so independent problems are all reported.
func (s *safety) checkFailureTolerance(c cluster) {
	v0 := s.voters[c]
	n := len(s.units)
	nodes := make([]closureNode, n)
	runs := make([]point, n)
	fins := make([]point, n)
	relevant := false
	for i, u := range s.units {
		var r, f point
		if len(u.inner) > 0 {
			r, f = s.compositeEffect(u, c)
		} else {
			r, f = s.instanceEffect(u, c)
		}
		if r == (point{}) && f == (point{}) {
			continue
		}
		relevant = true
		runs[i], fins[i] = stepProfile(r, f, u.count, u.parallel)
		nodes[i] = closureNode{run: runs[i].pressure(), fin: fins[i].pressure()}
	}
	if !relevant {
		return
	}
	for i, u := range s.units {
		for _, p := range s.g.Preds(u.addr()) {
			if pu := s.byPos[p]; pu != nil {
				nodes[i].preds = append(nodes[i].preds, pu.pos)
			}
		}
	}
	// Each round is one max-flow; a runbook with hundreds of unordered
	// server steps would otherwise get hundreds of rounds and as many
	// diagnostics. The first few name the problem well enough.
	for range min(n, maxToleranceRounds) {
		worst, states := worstMoment(nodes)
		if worst < int64(v0) {
			return
		}
		var running, done []*facts
		total := point{}
		for i, st := range states {
			switch st {
			case stateRunning:
				if nodes[i].run > 0 {
					running = append(running, s.units[i])
				}
				total = total.add(runningPoint(runs[i], fins[i]))
			case stateFinished:
				if nodes[i].fin > 0 {
					done = append(done, s.units[i])
				}
				total = total.add(fins[i])
			}
		}
		var blame *facts
		switch {
		case len(running) > 0:
			blame = running[len(running)-1]
		case len(done) > 0:
			blame = done[len(done)-1]
		default:
			return
		}
		nodes[blame.pos].run, nodes[blame.pos].fin = 0, 0
		var downed, removed []*facts
		for _, d := range done {
			if fins[d.pos].down > 0 {
				downed = append(downed, d)
			}
			if fins[d.pos].voters < 0 {
				removed = append(removed, d)
			}
		}
		s.reportTolerance(c, blame, running, downed, removed, total, runs[blame.pos].down)
	}
}

func (s *safety) reportTolerance(c cluster, blame *facts, running, downed, removed []*facts, total point, blameDown int) {
	v0 := s.voters[c]
	voters := v0 + total.voters
	quorum := voters/2 + 1
	tolerance := max(voters-quorum, 0)
	subject := blame.step.DeclRange
	var b strings.Builder
	switch {
	case len(running) == 1 && len(downed) == 0 && len(removed) == 0 && blame.parallel > 1:
		subject = s.attrRange(blame.step, "max_parallel")
		fmt.Fprintf(&b, "%s runs %d instances at once.", blame.addr(), blame.parallel)
	case len(running) > 1:
		fmt.Fprintf(&b, "Nothing orders %s against each other, so they can run at the same time.", addrList(running))
	case len(running) == 1 && len(downed) == 0 && len(removed) == 0:
		fmt.Fprintf(&b, "%s takes %d servers down at once.", blame.addr(), blameDown)
	case len(running) == 1:
		fmt.Fprintf(&b, "%s can run at a moment when the cluster is already weakened.", blame.addr())
	}
	if len(downed) > 0 {
		fmt.Fprintf(&b, " %s may already have left servers down that are still Raft voters.", addrList(downed))
	}
	if len(removed) > 0 {
		fmt.Fprintf(&b, " %s may already have removed servers from Raft, which shrinks the voter set.", addrList(removed))
	}
	fmt.Fprintf(&b, " At that moment %d of the %d voters of the %s cluster are down, but %d voters need a quorum of %d and tolerate only %d down.",
		total.down, voters, c, voters, quorum, tolerance)
	if !blame.countKnown && blame.step.ForEach != nil && !s.assumedVoters(c) {
		fmt.Fprintf(&b, " The number of instances of %s is not known offline; the analysis assumed %d.", blame.addr(), blame.count)
	}
	if s.assumedVoters(c) {
		fmt.Fprintf(&b, " The analysis assumed %d voters because the count is not known offline; declare a variable %q with the real count, or run nrun plan against the cluster.", v0, map[cluster]string{clusterNomad: "server_count", clusterConsul: "consul_server_count"}[c])
	}
	switch {
	case len(running) == 1 && len(downed) == 0 && len(removed) == 0 && blame.parallel > 1:
		fmt.Fprintf(&b, " Lower max_parallel to %d.", max(tolerance, 1))
	case len(running) > 1:
		fmt.Fprintf(&b, " Order them: add depends_on = [%s] to %s.", running[len(running)-2].addr(), blame.addr())
	case len(downed) > 0:
		fmt.Fprintf(&b, " Bring those servers back (start them and wait for server_healthy) before %s runs, or remove them from Raft once they are stopped.", blame.addr())
	case len(removed) > 0:
		fmt.Fprintf(&b, " A smaller voter set tolerates fewer failures: run %s before the removal, or add servers first (terraform_apply with creates, then wait for servers_healthy with a count).", blame.addr())
	default:
		fmt.Fprintf(&b, " Take the servers out one at a time instead: for each, stop it and remove it from Raft (nomad_raft_remove_peer or consul_raft_remove_peer, max_parallel = 1), and only then destroy them.")
	}
	s.report(blame.step, RuleFailureTolerance, hcl.DiagError, subject, "Failure tolerance exceeded", strings.TrimSpace(b.String()))
}

// assumedVoters reports whether the voter count of c is the offline guess.
func (s *safety) assumedVoters(c cluster) bool {
	if c == clusterNomad && s.opts.NomadVoters > 0 || c == clusterConsul && s.opts.ConsulVoters > 0 {
		return false
	}
	return s.voters[c] == 3
}
