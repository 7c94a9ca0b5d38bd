package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// This file holds NR-S011: draining clients must leave somewhere for their
// work to go. Offline it counts nodes; at plan it adds up resources.

// drainUnit is one top-level step that drains client nodes: the step
// itself, or a composite with an inner drain.
type drainUnit struct {
	u     *facts // the top-level step
	drain *facts // the drain (u, or its inner step)
	// undrains is true when the composite makes each instance's node
	// eligible again after its drain, so its drained nodes do not pile up.
	undrains bool
}

// drainUnits returns every step that drains Nomad client nodes, in graph
// order.
func (s *safety) drainUnits() []drainUnit {
	var out []drainUnit
	for _, u := range s.units {
		steps := u.inner
		if len(steps) == 0 {
			steps = []*facts{u}
		}
		for _, f := range steps {
			if spec := actionSpec(f.step); spec == nil || spec.Effect != lang.EffectDrain || f.tgt.kind != lang.TargetNomadNode {
				continue
			}
			du := drainUnit{u: u, drain: f}
			for _, e := range u.inner {
				if spec := actionSpec(e.step); spec != nil && spec.Effect == lang.EffectEligibility &&
					s.boolArg(e.step, "eligible", false) && e.tgt.covers(f.tgt) && s.before(f, e) {
					du.undrains = true
				}
			}
			out = append(out, du)
			break
		}
	}
	return out
}

// atOnce is how many nodes of its set a drain step drains at the same
// time, and whether that is known offline. A max_parallel at the runbook's
// cap on instances per step drains every instance at once, whatever the
// set holds.
func (s *safety) atOnce(du drainUnit) (int, bool) {
	u := du.u
	if u.step.ForEach == nil {
		return 1, true
	}
	perStep, _ := s.rb.InstanceLimits()
	p, known := s.maxParallel(u.step)
	if !known {
		// Decided at plan from a data source: offline, the worst legal
		// value, every instance at once (an error once the set's size
		// is known).
		return perStep, false
	}
	if p >= perStep {
		return p, true
	}
	return p, false
}

// checkCapacity is NR-S011.
func (s *safety) checkCapacity() {
	units := s.drainUnits()
	for _, du := range units {
		s.checkDrainCount(du)
	}
	if s.opts.Nodes == nil {
		return
	}
	for _, du := range units {
		s.checkDrainResources(du, units)
	}
}

// checkDrainCount is NR-S011 by counting: draining every member of a node
// set at once is an error, more than half of it a warning.
func (s *safety) checkDrainCount(du drainUnit) {
	f, u := du.drain, du.u
	if u.step.ForEach == nil || !f.tgt.perInstance || !strings.HasPrefix(f.tgt.set, "data.") || strings.Contains(f.tgt.set, "[") {
		return
	}
	k, all := s.atOnce(du)
	if !all && k <= 1 {
		// One node at a time never drains two together; whether its
		// work fits elsewhere is the resource sum's to say, at plan.
		return
	}
	if nodes, ok := s.nodesOf(f.tgt); ok && len(nodes) > 0 && withResources(nodes) {
		// At plan with every node's resources known, the sums decide
		// (checkDrainResources); counting is for when they are not.
		return
	}
	n, known := s.knownDataCount(f.tgt.set)
	subject := s.attrRange(u.step, "max_parallel")
	switch {
	case all || known && n > 0 && k >= n:
		size := "however many nodes it holds"
		if known && !all {
			size = fmt.Sprintf("all %d of its nodes", n)
		}
		s.report(u.step, RuleCapacity, hcl.DiagError, subject,
			"Every node drained at once",
			fmt.Sprintf("%s drains %s (max_parallel = %d), %s, at the same time: no node of the set is left for their allocations to move to. Lower max_parallel (to 1, or at most half of the set), or add nodes to the pool before the drain.",
				u.addr(), f.tgt.set, k, size))
	case known && n > 0 && 2*k > n:
		s.report(u.step, RuleCapacity, hcl.DiagWarning, subject,
			"More than half of the nodes drained at once",
			fmt.Sprintf("%s drains %d of the %d nodes of %s at the same time (max_parallel = %d), so the allocations of more than half of the set must fit on the rest. Lower max_parallel to %d or less, or add nodes to the pool before the drain.",
				u.addr(), k, n, f.tgt.set, k, max(n/2, 1)))
	}
}

// createsClients reports whether st is a terraform_apply whose creates
// adds client nodes, or may (the count is not known).
func (s *safety) createsClients(st *lang.Step) bool {
	if st.Action == nil {
		return false
	}
	attr := st.Action.Args["creates"]
	if attr == nil {
		return false
	}
	v, diags := attr.Expr.Value(s.ctx)
	if diags.HasErrors() || v.IsNull() {
		return false
	}
	if !v.IsKnown() || !v.CanIterateElements() {
		return !v.IsKnown()
	}
	for it := v.ElementIterator(); it.Next(); {
		k, n := it.Element()
		if k.Type() != cty.String || k.AsString() != "nomad_clients" || n.IsNull() {
			continue
		}
		return !n.IsKnown() || n.Type() == cty.Number && n.AsBigFloat().Sign() > 0
	}
	return false
}

// withResources reports whether every node's resources are known.
func withResources(nodes []*cview.Node) bool {
	for _, n := range nodes {
		if n.Resources == nil {
			return false
		}
	}
	return true
}

// nodesOf returns the view's nodes that target t names, by ID, and
// whether they could be told: t must be a nomad_nodes data source (or one
// keyed member of it) whose value the scope holds. Each set is looked up
// once per analysis: a drain over thousands of nodes asks for its own and
// every other drain's set.
func (s *safety) nodesOf(t target) ([]*cview.Node, bool) {
	if m, ok := s.nodeSets[t.set]; ok {
		return m.nodes, m.ok
	}
	nodes, ok := s.lookupNodes(t)
	if s.nodeSets == nil {
		s.nodeSets = map[string]nodeSet{}
	}
	s.nodeSets[t.set] = nodeSet{nodes, ok}
	return nodes, ok
}

// nodeSet is one memoised answer of nodesOf.
type nodeSet struct {
	nodes []*cview.Node
	ok    bool
}

func (s *safety) lookupNodes(t target) ([]*cview.Node, bool) {
	set, key, keyed := strings.Cut(t.set, "[")
	parts := strings.Split(set, ".")
	if len(parts) != 3 || parts[0] != "data" {
		return nil, false
	}
	v := s.ctx.Variables["data"]
	for _, name := range []string{parts[1], parts[2], "by_id"} {
		if v == cty.NilVal || !v.IsKnown() || v.IsNull() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
			return nil, false
		}
		v = v.GetAttr(name)
	}
	// The keys (node IDs) are what counts; an element is read only for
	// its name when the target is one keyed member, so a known map is
	// enough and its elements need not be walked twice.
	if !v.IsKnown() || v.IsNull() || !v.CanIterateElements() {
		return nil, false
	}
	if s.byID == nil {
		s.byID = make(map[string]*cview.Node, len(s.opts.Nodes))
		for i := range s.opts.Nodes {
			s.byID[s.opts.Nodes[i].ID] = &s.opts.Nodes[i]
		}
	}
	want := strings.TrimSuffix(key, "]")
	out := make([]*cview.Node, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		n := s.byID[k.AsString()]
		if n == nil {
			return nil, false
		}
		if keyed {
			name := e.GetAttr("name")
			if !name.IsKnown() || name.IsNull() {
				return nil, false
			}
			if want != fmt.Sprintf("%q", name.AsString()) && want != fmt.Sprintf("%q", n.ID) {
				continue
			}
		}
		out = append(out, n)
	}
	return out, true
}

// poolOut is the part of one node pool that cannot take work at the
// worst moment of a drain step.
type poolOut struct {
	draining map[string]*cview.Node // whose allocations must move
	shut     map[string]bool        // made ineligible by earlier steps
}

// checkDrainResources is NR-S011 at plan: at the worst moment of du, what
// runs on the nodes drained or draining must fit in what the eligible,
// ready nodes left in the same pool have free. It adds resources; it does
// not place allocations.
func (s *safety) checkDrainResources(du drainUnit, units []drainUnit) {
	mine, ok := s.nodesOf(du.drain.tgt)
	if !ok || len(mine) == 0 {
		return
	}
	// Clients that an earlier step creates (blue/green) are where the
	// work goes, and the plan cannot know their resources.
	for _, e := range s.units {
		if s.g.Ancestor(e.addr(), du.u.addr()) && s.createsClients(e.step) {
			s.report(du.u.step, RuleCapacity, hcl.DiagWarning, s.attrRange(du.u.step, "max_parallel"),
				"Drain capacity not proven",
				fmt.Sprintf("%s drains nodes after %s creates client nodes, whose resources are not known when the plan is made, so nrun cannot prove that the drained work fits. Check the new clients' size, or wait for them (node_ready) and plan the drain in a run of its own.",
					du.u.addr(), e.addr()))
			return
		}
	}
	pools := map[string]*poolOut{}
	pool := func(name string) *poolOut {
		p := pools[name]
		if p == nil {
			p = &poolOut{draining: map[string]*cview.Node{}, shut: map[string]bool{}}
			pools[name] = p
		}
		return p
	}
	// This step's own nodes: all of them by its last instance, unless
	// each is made eligible again; then the max_parallel that move the
	// most.
	k, _ := s.atOnce(du)
	own := mine
	if du.undrains && k < len(mine) {
		own = heaviest(mine, k)
	}
	for _, n := range own {
		pool(n.NodePool).draining[n.ID] = n
	}
	// Drains before this one (not made eligible again), and drains that
	// may run at the same time.
	for _, o := range units {
		if o.u == du.u || s.g.Ancestor(du.u.addr(), o.u.addr()) {
			continue
		}
		nodes, ok := s.nodesOf(o.drain.tgt)
		if !ok {
			continue
		}
		if s.g.Ancestor(o.u.addr(), du.u.addr()) && (o.undrains || s.madeEligible(o.drain, du.u)) {
			continue
		}
		for _, n := range nodes {
			if p := pools[n.NodePool]; p != nil {
				p.draining[n.ID] = n
			}
		}
	}
	// Nodes an earlier step made ineligible.
	for _, e := range s.units {
		if !s.g.Ancestor(e.addr(), du.u.addr()) {
			continue
		}
		for _, f := range append([]*facts{e}, e.inner...) {
			if spec := actionSpec(f.step); spec == nil || spec.Effect != lang.EffectEligibility || s.boolArg(f.step, "eligible", true) {
				continue
			}
			nodes, ok := s.nodesOf(f.tgt)
			if !ok {
				continue
			}
			for _, n := range nodes {
				if p := pools[n.NodePool]; p != nil && !s.madeEligible(f, du.u) {
					p.shut[n.ID] = true
				}
			}
		}
	}
	names := make([]string, 0, len(pools))
	for name := range pools {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s.checkPool(du, name, pools[name], pools)
	}
}

// checkPool compares what must move off the draining nodes of one pool
// with what the nodes left can take: work bound to the pool must fit in
// the pool's free resources; work of jobs in node pool "all" may also use
// the free resources of the eligible, ready nodes of other pools.
func (s *safety) checkPool(du drainUnit, pool string, p *poolOut, pools map[string]*poolOut) {
	var boundCPU, boundMem, anyCPU, anyMem int64
	var unknown []string
	for _, n := range sortedNodes(p.draining) {
		if n.Resources == nil {
			unknown = append(unknown, n.Name)
			continue
		}
		boundCPU += n.Resources.PoolBoundCPU()
		boundMem += n.Resources.PoolBoundMemoryMB()
		anyCPU += n.Resources.AnyPoolCPU
		anyMem += n.Resources.AnyPoolMemoryMB
	}
	var freeCPU, freeMem, otherCPU, otherMem int64
	left, others := 0, 0
	for i := range s.opts.Nodes {
		n := &s.opts.Nodes[i]
		if n.Status != "ready" || n.Eligibility != "eligible" || n.Drain {
			continue
		}
		if q := pools[n.NodePool]; q != nil && (q.draining[n.ID] != nil || q.shut[n.ID]) {
			continue
		}
		if n.NodePool != pool && anyCPU == 0 && anyMem == 0 {
			continue
		}
		if n.Resources == nil {
			unknown = append(unknown, n.Name)
			continue
		}
		if n.NodePool == pool {
			left++
			freeCPU += n.Resources.FreeCPU()
			freeMem += n.Resources.FreeMemoryMB()
		} else {
			others++
			otherCPU += n.Resources.FreeCPU()
			otherMem += n.Resources.FreeMemoryMB()
		}
	}
	subject := s.attrRange(du.u.step, "max_parallel")
	if len(unknown) > 0 {
		s.report(du.u.step, RuleCapacity, hcl.DiagWarning, subject,
			"Drain capacity not proven",
			fmt.Sprintf("%s drains nodes of pool %q, but the cluster view has no resources for %s, so nrun cannot prove that their allocations fit on the nodes left. Plan against the live cluster, or write the inventory again with this version of nrun inventory.",
				du.u.addr(), pool, strings.Join(unknown, ", ")))
		return
	}
	if boundCPU <= freeCPU && boundMem <= freeMem &&
		boundCPU+anyCPU <= freeCPU+otherCPU && boundMem+anyMem <= freeMem+otherMem {
		return
	}
	detail := fmt.Sprintf("At the worst moment of %s, %d nodes of pool %q are drained or draining with %d MHz / %d MB running that must move within the pool; the %d eligible, ready nodes left in the pool have %d MHz / %d MB free.",
		du.u.addr(), len(p.draining), pool, boundCPU, boundMem, left, freeCPU, freeMem)
	if anyCPU > 0 || anyMem > 0 {
		detail += fmt.Sprintf(" Jobs in node pool \"all\" add %d MHz / %d MB that may also move to the %d eligible, ready nodes of other pools, which have %d MHz / %d MB free.",
			anyCPU, anyMem, others, otherCPU, otherMem)
	}
	s.report(du.u.step, RuleCapacity, hcl.DiagError, subject, "Drained work does not fit",
		detail+" This is a sum of resources, not a placement: Nomad may still fail to place work that needs a whole node. Lower max_parallel, make drained nodes eligible again before the next drain, or add nodes to the pool first.")
}

// madeEligible reports whether a step between f and u makes f's nodes
// eligible again.
func (s *safety) madeEligible(f *facts, u *facts) bool {
	found := false
	s.forEachStep(func(e *facts) {
		if found {
			return
		}
		if spec := actionSpec(e.step); spec != nil && spec.Effect == lang.EffectEligibility &&
			s.boolArg(e.step, "eligible", false) && e.tgt.covers(f.tgt) && s.before(f, e) && s.g.Ancestor(top(e).addr(), u.addr()) {
			found = true
		}
	})
	return found
}

// heaviest returns the k nodes whose allocations take the most memory to
// move (then CPU): the worst k to drain at once.
func heaviest(nodes []*cview.Node, k int) []*cview.Node {
	out := append([]*cview.Node(nil), nodes...)
	weight := func(n *cview.Node) (int64, int64) {
		if n.Resources == nil {
			return 1 << 62, 1 << 62 // unknown: reported as such
		}
		return n.Resources.MovingMemoryMB(), n.Resources.MovingCPU()
	}
	sort.SliceStable(out, func(i, j int) bool {
		mi, ci := weight(out[i])
		mj, cj := weight(out[j])
		return mi > mj || mi == mj && ci > cj
	})
	return out[:k]
}

func sortedNodes(m map[string]*cview.Node) []*cview.Node {
	out := make([]*cview.Node, 0, len(m))
	for _, n := range m {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Name < out[j].Name || out[i].Name == out[j].Name && out[i].ID < out[j].ID
	})
	return out
}
