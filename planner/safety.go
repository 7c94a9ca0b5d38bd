package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/addrs"
	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// The safety rule IDs. LANGUAGE.md, section "Safety rules", describes each.
const (
	RuleQuorumPrecondition = "NR-S001"
	RuleFailureTolerance   = "NR-S002"
	RuleLeaderLast         = "NR-S003"
	RuleSnapshotFirst      = "NR-S004"
	RuleWaitForHealth      = "NR-S005"
	RuleDrainBeforeDestroy = "NR-S006"
	RuleNoRejoin           = "NR-S007"
	RuleMaintIsNotRemoval  = "NR-S008"
	RuleServersFirst       = "NR-S009"
	RuleNewBeforeOld       = "NR-S010"
	RuleCapacity           = "NR-S011"
	RuleRestoreGuarded     = "NR-S012"
)

// Rules lists every safety rule ID in order.
var Rules = []string{
	RuleQuorumPrecondition, RuleFailureTolerance, RuleLeaderLast, RuleSnapshotFirst,
	RuleWaitForHealth, RuleDrainBeforeDestroy, RuleNoRejoin, RuleMaintIsNotRemoval,
	RuleServersFirst, RuleNewBeforeOld, RuleCapacity, RuleRestoreGuarded,
}

// RuleDiag is the Extra value of every safety diagnostic.
type RuleDiag struct {
	Rule string
}

// RuleOf returns the safety rule ID a diagnostic reports, or "" when it is
// not a safety diagnostic.
func RuleOf(d *hcl.Diagnostic) string {
	if d == nil {
		return ""
	}
	if r, ok := hcl.DiagnosticExtra[RuleDiag](d); ok {
		return r.Rule
	}
	return ""
}

// SafetyOptions are the cluster facts the safety analysis assumes. The zero
// value is the offline worst case.
type SafetyOptions struct {
	// NomadVoters and ConsulVoters are the voter counts before the runbook
	// runs. 0 means unknown: a variable named server_count (Nomad) or
	// consul_server_count decides, else the largest known set of targeted
	// servers, else 3 (the smallest cluster that tolerates a failure).
	NomadVoters  int
	ConsulVoters int
	// DataCounts maps a data source address, "data.nomad_servers.blue", to
	// the number of members it holds (from an inventory or the live
	// cluster). by_name and names have that many instances, followers one
	// fewer.
	DataCounts map[string]int
	// Inputs are the runbook's input variable values; a for_each over a
	// variable or local with a known value counts its elements.
	Inputs map[string]cty.Value
	// Scope, when set, replaces Inputs: the planner passes its scope with
	// the live data sources filled in, so every for_each is counted.
	Scope *lang.Scope
	// Plan is set when the analysis runs at plan (Resolve): objects given
	// by name are resolved against View and checked as what they are, and
	// a name that matches nothing or is still unknown is an error. Without
	// it (validate) they are decided at plan, which a warning says.
	Plan bool
	// View is the cluster view names are resolved against at plan.
	View *cview.View
	// Nodes are the client nodes of the cluster view, with their
	// resources; nil offline. NR-S011 adds them up at plan.
	Nodes []cview.Node
}

func init() { passes = append(passes, checkSafety) }

// checkSafety is the safety analysis as a Validate pass: offline, with the
// worst-case counts.
func checkSafety(rb *lang.Runbook, g *Graph, inputs map[string]cty.Value, sc *lang.Scope) hcl.Diagnostics {
	_, diags := CheckSafety(rb, g, SafetyOptions{Inputs: inputs, Scope: sc})
	return diags
}

// SafetyReport is what the analysis found besides diagnostics.
type SafetyReport struct {
	// Waivers lists every rule an allow_unsafe block waives, in step
	// declaration order.
	Waivers []Waiver
	// NomadVoters and ConsulVoters are the voter counts the analysis
	// assumed.
	NomadVoters, ConsulVoters int
	// Destroyed are the objects terraform_apply steps destroy, as
	// "kind/name/id", sorted; known at plan only.
	Destroyed []string
}

// Waiver is one rule waived for one step by allow_unsafe.
type Waiver struct {
	Step   addrs.Step
	Rule   string
	Reason string
	Range  hcl.Range // the rule ID in the rules list, or the block header
	// Used is true when the analysis found a violation of Rule on Step
	// (or, for a composite, on one of its inner steps) and suppressed it.
	Used bool
}

// cluster is one Raft cluster: Nomad's servers or Consul's.
type cluster int

const (
	clusterNone cluster = iota
	clusterNomad
	clusterConsul
)

func (c cluster) String() string {
	switch c {
	case clusterNomad:
		return "Nomad"
	case clusterConsul:
		return "Consul"
	}
	return "no"
}

func clusterOf(k lang.TargetKind) cluster {
	switch k {
	case lang.TargetNomadServer:
		return clusterNomad
	case lang.TargetConsulServer:
		return clusterConsul
	}
	return clusterNone
}

// target is what a step acts on, as far as it can be known without a
// cluster.
type target struct {
	kind lang.TargetKind
	// set names the group of objects: a data source address
	// ("data.nomad_servers.blue"), that address with a literal key
	// ("data.nomad_servers.blue[\"s1\"]"), or "lit:" and the source text of
	// an expression naming one object. "" when unknown.
	set string
	// attr is the data source attribute used: by_name, followers, leader...
	attr string
	// perInstance is true when each for_each instance acts on its own
	// member of set (each.value, or the for_each itself).
	perInstance bool
	// members are the objects of a set resolved by name at plan
	// ("kind/name/id", sorted); its set is then "obj:" and their keys.
	members []string
}

func (t target) isServer() bool { return clusterOf(t.kind) != clusterNone }

// covers reports whether acting on a also acts on b: the same set, or b is
// one keyed member of a.
func (a target) covers(b target) bool {
	if a.set == "" || b.set == "" {
		return false
	}
	return a.set == b.set || strings.HasPrefix(b.set, a.set+"[")
}

// facts are the safety-relevant facts of one step (top-level or inner).
type facts struct {
	step   *lang.Step
	outer  *facts // the composite, for inner steps
	tgt    target
	effect lang.Effect
	// creates counts the servers a terraform_apply adds, per cluster;
	// createsUnknown is set when a count is not known, so it may add
	// servers to either cluster (NR-S010) but adds no voters (NR-S002).
	creates        map[cluster]int
	createsUnknown bool
	// destroys is what a terraform_apply removes, one target per data
	// source named, and destroysCount how many members each has.
	destroys      []target
	destroysCount []int
	// count and parallel are for_each instances and how many run at once
	// (top-level steps; inner steps copy their composite's).
	count, parallel int
	countKnown      bool
	inner           []*facts
	pos             int // index in the graph order of its level
}

// disrupts reports whether f restarts, stops, destroys or removes a Raft
// server of cluster c that is still a live voter when f starts. Acting on
// servers that already left Raft disrupts nothing.
func (s *safety) disrupts(f *facts, c cluster) bool {
	for _, d := range f.destroys {
		if clusterOf(d.kind) == c && s.priorState(f, d).status == statusUp {
			return true
		}
	}
	if clusterOf(f.tgt.kind) != c {
		return false
	}
	switch f.effect {
	case lang.EffectStop, lang.EffectDestroy:
		return s.priorState(f, f.tgt).status == statusUp
	case lang.EffectRestart, lang.EffectLeave, lang.EffectRemovePeer:
		return s.priorState(f, f.tgt).status != statusRemoved
	}
	return false
}

// unitDisrupts is disrupts for a top-level step, composite or not.
func (s *safety) unitDisrupts(f *facts, c cluster) bool {
	if len(f.inner) == 0 {
		return s.disrupts(f, c)
	}
	for _, in := range f.inner {
		if s.disrupts(in, c) {
			return true
		}
	}
	return false
}

// destroysKind returns the first target of kind k that f's terraform
// apply destroys.
func (f *facts) destroysKind(match func(lang.TargetKind) bool) (target, bool) {
	for _, d := range f.destroys {
		if match(d.kind) {
			return d, true
		}
	}
	return target{}, false
}

func (f *facts) addr() addrs.Step { return f.step.Addr }

// safety holds one run of the analysis.
type safety struct {
	rb     *lang.Runbook
	g      *Graph
	opts   SafetyOptions
	ctx    *hcl.EvalContext
	voters map[cluster]int

	units    []*facts // top-level steps in graph order
	changers []*facts // the units that act on a target set, in order
	byPos    map[addrs.Step]*facts

	prior      map[priorKey]setState      // memo of priorState
	touch      map[string]bitset          // memo of touchBits
	memberSets map[string]map[string]bool // memo of setMembers
	nodeSets   map[string]nodeSet         // memo of nodesOf
	byID       map[string]*cview.Node     // opts.Nodes by ID, for nodesOf

	diags   hcl.Diagnostics
	waivers []Waiver
}

// CheckSafety proves the runbook's step graph safe for the clusters it
// operates, rule by rule (NR-S001 to NR-S012, see LANGUAGE.md). Each finding
// is a diagnostic whose Summary ends with the rule ID, whose Extra is a
// RuleDiag, whose Subject is the offending step header or attribute and
// whose Context is the step block. Violations of rules a step waives with
// allow_unsafe are left out and marked Used in the report's Waivers.
//
// g must be BuildGraph(rb)'s graph. Offline, opts may be zero: counts
// that are not known assume the worst legal case.
func CheckSafety(rb *lang.Runbook, g *Graph, opts SafetyOptions) (*SafetyReport, hcl.Diagnostics) {
	rep := &SafetyReport{}
	if rb == nil || g == nil {
		return rep, nil
	}
	s := &safety{rb: rb, g: g, opts: opts, byPos: map[addrs.Step]*facts{}, prior: map[priorKey]setState{}, touch: map[string]bitset{}, memberSets: map[string]map[string]bool{}}
	s.ctx = s.evalContext()
	s.collectWaivers()
	s.collect()
	s.voters = map[cluster]int{
		clusterNomad:  s.initialVoters(clusterNomad, opts.NomadVoters, "server_count", "nomad_server_count"),
		clusterConsul: s.initialVoters(clusterConsul, opts.ConsulVoters, "consul_server_count"),
	}
	s.resolveCounts()

	s.checkQuorumPrecondition()
	for _, c := range []cluster{clusterNomad, clusterConsul} {
		s.checkFailureTolerance(c)
	}
	s.checkLeaderLast()
	s.checkSnapshotFirst()
	s.checkWaitForHealth()
	s.checkDrainBeforeDestroy()
	s.checkNoRejoin()
	s.checkMaintIsNotRemoval()
	s.checkServersFirst()
	s.checkNewBeforeOld()
	s.checkCapacity()
	s.checkRestoreGuarded()

	rep.Waivers = s.waivers
	rep.NomadVoters = s.voters[clusterNomad]
	rep.ConsulVoters = s.voters[clusterConsul]
	rep.Destroyed = s.destroyedObjects()
	return rep, s.diags
}

// collect builds the facts of every step in graph order.
func (s *safety) collect() {
	for _, a := range s.g.Order() {
		st := s.g.Step(a)
		if st == nil || s.disabled(st) {
			continue
		}
		f := s.stepFacts(st, nil)
		if ig := s.g.Inner(a); ig != nil {
			for _, ia := range ig.Order() {
				ist := ig.Step(ia)
				if ist == nil {
					continue
				}
				in := s.stepFacts(ist, f)
				in.pos = len(f.inner)
				f.inner = append(f.inner, in)
			}
		}
		f.pos = len(s.units)
		s.units = append(s.units, f)
		s.byPos[a] = f
		if f.tgt.set != "" || len(f.destroys) > 0 || slices.ContainsFunc(f.inner, func(in *facts) bool { return in.tgt.set != "" || len(in.destroys) > 0 }) {
			s.changers = append(s.changers, f)
		}
	}
}

// stepFacts works out one step's target and effect.
func (s *safety) stepFacts(st *lang.Step, outer *facts) *facts {
	f := &facts{step: st, outer: outer}
	forEach := st.ForEach
	targetExpr := st.Target
	if outer != nil {
		forEach = outer.step.ForEach
		if targetExpr == nil {
			targetExpr = outer.step.Target
		}
	}
	var each *target
	if forEach != nil {
		t := s.exprTarget(forEach, nil)
		if t.kind != lang.TargetNone {
			t.perInstance = true
		}
		each = &t
	}
	switch {
	case targetExpr != nil:
		f.tgt = s.exprTarget(targetExpr, each)
		f.tgt.perInstance = f.tgt.perInstance || forEach != nil && usesEach(targetExpr)
	case each != nil:
		f.tgt = *each
	}
	if st.Action == nil {
		return f
	}
	f.effect = st.Action.Effect
	spec := lang.ActionSpecs[st.Action.Type]
	if spec != nil && spec.TargetAttr != "" {
		if attr := st.Action.Args[spec.TargetAttr]; attr != nil {
			f.tgt = s.exprTarget(attr.Expr, each)
			f.tgt.perInstance = f.tgt.perInstance || forEach != nil && usesEach(attr.Expr)
		}
	}
	if spec != nil && spec.Target != lang.TargetNone && f.tgt.kind == lang.TargetNone &&
		(f.tgt.set != "" || spec.TargetAttr != "") {
		f.tgt.kind = spec.Target
	}
	if spec != nil && spec.EffectOf != nil {
		// What the apply does to the cluster is in creates and destroys,
		// not on a step target.
		f.tgt = target{}
		if attr := st.Action.Args["creates"]; attr != nil {
			f.creates, f.createsUnknown = s.createsOf(attr.Expr)
		}
		if attr := st.Action.Args["destroys"]; attr != nil {
			f.destroys = s.exprTargets(attr.Expr, each)
			if s.opts.Plan || len(f.destroys) == 0 && !isNullLiteral(attr.Expr) {
				// Names, or (at plan) anything: resolved by value, so a
				// name beside a data source is not left out.
				f.destroys = s.resolveNamed(f, named{attr: "destroys", expr: attr.Expr, rng: attr.Range, forEach: forEach})
			}
		}
		return f
	}
	// A target given as a string, or each.value over strings.
	if n, ok := s.namedTarget(f, st, targetExpr, forEach); ok {
		if f.tgt.kind != lang.TargetNone || disruptiveEffect(f.effect) {
			s.resolveTarget(f, n, f.tgt.perInstance || forEach != nil && usesEach(n.expr))
		}
	}
	return f
}

// namedTarget returns the expression that names f's target when it is
// not a data source set: a literal, a variable, each over one.
func (s *safety) namedTarget(f *facts, st *lang.Step, targetExpr, forEach hcl.Expression) (named, bool) {
	if strings.HasPrefix(f.tgt.set, "data.") {
		return named{}, false
	}
	n := named{attr: "target", forEach: forEach}
	if spec := actionSpec(st); spec != nil && spec.TargetAttr != "" && st.Action.Args[spec.TargetAttr] != nil {
		a := st.Action.Args[spec.TargetAttr]
		n.attr, n.expr, n.rng = spec.TargetAttr, a.Expr, a.Range
		return n, true
	}
	switch {
	case targetExpr != nil:
		n.expr = targetExpr
		n.rng = targetExpr.Range()
		if r, ok := st.AttrRanges["target"]; ok {
			n.rng = r
		} else if f.outer != nil {
			if r, ok := f.outer.step.AttrRanges["target"]; ok {
				n.rng = r
			}
		}
	case forEach != nil:
		// The default target, each.value.
		n.attr = "for_each"
		n.expr = &hclsyntax.ScopeTraversalExpr{
			Traversal: hcl.Traversal{hcl.TraverseRoot{Name: "each"}, hcl.TraverseAttr{Name: "value"}},
			SrcRange:  forEach.Range(),
		}
		n.rng = forEach.Range()
	default:
		return named{}, false
	}
	return n, true
}

// isNullLiteral reports whether e is the literal null.
func isNullLiteral(e hcl.Expression) bool {
	v, d := e.Value(nil)
	return !d.HasErrors() && v.IsNull()
}

// exprTarget finds what an expression refers to: a data source (possibly
// one keyed member of it), each (the for_each target), or a literal.
func (s *safety) exprTarget(expr hcl.Expression, each *target) target {
	if expr == nil {
		return target{}
	}
	for _, tr := range expr.Variables() {
		switch tr.RootName() {
		case "data":
			if t, ok := dataTarget(tr); ok {
				return t
			}
		case "each":
			if each != nil && each.kind != lang.TargetNone {
				return *each
			}
		}
	}
	if len(expr.Variables()) == 0 {
		if src := s.source(expr.Range()); src != "" {
			return target{set: "lit:" + src}
		}
	}
	return target{}
}

// usesEach reports whether expr refers to each.key or each.value.
func usesEach(expr hcl.Expression) bool {
	for _, tr := range expr.Variables() {
		if tr.RootName() == "each" {
			return true
		}
	}
	return false
}

// exprTargets returns every data source an expression names, each once,
// or its single other target.
func (s *safety) exprTargets(expr hcl.Expression, each *target) []target {
	if expr == nil {
		return nil
	}
	var out []target
	seen := map[string]bool{}
	for _, tr := range expr.Variables() {
		if tr.RootName() != "data" {
			continue
		}
		if t, ok := dataTarget(tr); ok && !seen[t.set] {
			seen[t.set] = true
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		if t := s.exprTarget(expr, each); t.kind != lang.TargetNone {
			out = append(out, t)
		}
	}
	return out
}

// dataTarget reads data.TYPE.NAME[.attr[key]].
func dataTarget(tr hcl.Traversal) (target, bool) {
	var names []string
	var key string
	for _, step := range tr[1:] {
		switch st := step.(type) {
		case hcl.TraverseAttr:
			names = append(names, st.Name)
		case hcl.TraverseIndex:
			if st.Key.Type() == cty.String && st.Key.IsKnown() && !st.Key.IsNull() {
				key = st.Key.AsString()
			}
		}
		if key != "" {
			break
		}
	}
	if len(names) < 2 {
		return target{}, false
	}
	t := target{set: "data." + names[0] + "." + names[1]}
	switch lang.DataSourceType(names[0]) {
	case lang.DataNomadServers:
		t.kind = lang.TargetNomadServer
	case lang.DataConsulServers:
		t.kind = lang.TargetConsulServer
	case lang.DataNomadNodes:
		t.kind = lang.TargetNomadNode
	default:
		return target{}, false
	}
	if len(names) > 2 {
		t.attr = names[2]
	}
	if key != "" {
		t.set += fmt.Sprintf("[%q]", key)
	}
	return t, true
}

// source returns the source text of rng with runs of blanks folded, or "".
func (s *safety) source(rng hcl.Range) string {
	f := s.rb.Files[rng.Filename]
	if f == nil || rng.Start.Byte < 0 || rng.End.Byte > len(f.Bytes) || rng.Start.Byte >= rng.End.Byte {
		return ""
	}
	return strings.Join(strings.Fields(string(f.Bytes[rng.Start.Byte:rng.End.Byte])), " ")
}

// createsOf reads terraform_apply's creates = { nomad_servers = N, ... }.
// An unknown server count is taken as 0 voters: new servers that cannot be
// counted do not help the failure tolerance. But they may be servers, so
// unknown is true and NR-S010 asks for proof that they joined.
func (s *safety) createsOf(expr hcl.Expression) (out map[cluster]int, unknown bool) {
	v, diags := expr.Value(s.ctx)
	out = map[cluster]int{}
	if diags.HasErrors() || v.IsNull() {
		return out, false
	}
	if !v.IsKnown() || !v.CanIterateElements() {
		return out, !v.IsKnown()
	}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if k.Type() != cty.String || e.IsNull() {
			continue
		}
		if !e.IsKnown() && (k.AsString() == "nomad_servers" || k.AsString() == "consul_servers") {
			unknown = true
			continue
		}
		if e.Type() != cty.Number {
			continue
		}
		n, acc := e.AsBigFloat().Int64()
		if acc != 0 || n < 0 || n > 1<<20 {
			continue
		}
		switch k.AsString() {
		case "nomad_servers":
			out[clusterNomad] += int(n)
		case "consul_servers":
			out[clusterConsul] += int(n)
		}
	}
	return out, unknown
}

// evalContext returns the context that for_each and count expressions are
// evaluated in: the options' scope (the planner's, with live data), else
// the offline scope for the inputs (NewScope without a view), where data
// sources are unknown.
func (s *safety) evalContext() *hcl.EvalContext {
	sc := s.opts.Scope
	if sc == nil {
		sc, _ = NewScope(s.rb, s.opts.Inputs, nil)
	}
	return sc.EvalContext(nil)
}

// knownLength returns the number of elements of a known collection.
func knownLength(v cty.Value) (n int, ok bool) {
	defer func() {
		if recover() != nil {
			n, ok = 0, false
		}
	}()
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return 0, false
	}
	t := v.Type()
	if !(t.IsCollectionType() || t.IsObjectType() || t.IsTupleType()) {
		return 0, false
	}
	if t.IsSetType() && !v.IsWhollyKnown() {
		return 0, false
	}
	return v.LengthInt(), true
}

// countOf returns how many members the expression ranges over, and whether
// that is known rather than assumed.
func (s *safety) countOf(expr hcl.Expression, t target) (int, bool) {
	if expr == nil || strings.Contains(t.set, "[") || t.attr == "leader" {
		return 1, true
	}
	if strings.HasPrefix(t.set, "data.") {
		return s.dataCount(t)
	}
	v, diags := expr.Value(s.ctx)
	if !diags.HasErrors() {
		if n, ok := knownLength(v); ok {
			return n, true
		}
	}
	// Unknown offline: assume at least two, so that parallel steps over
	// it really run in parallel.
	return 2, false
}

// dataCount returns the size of a data source set: from DataCounts, else
// from a live value in the scope, else the worst legal case (all voters
// for a server set, two for a node set).
func (s *safety) dataCount(t target) (int, bool) {
	n, ok := s.knownDataCount(t.set)
	if !ok {
		n = 2
		if c := clusterOf(t.kind); c != clusterNone {
			n = s.voters[c]
		}
	}
	if t.attr == "followers" {
		n = max(n-1, 0)
	}
	return n, ok
}

// knownDataCount returns the member count of data source set, when the
// options or the scope know it.
func (s *safety) knownDataCount(set string) (int, bool) {
	if n, ok := s.opts.DataCounts[set]; ok {
		return n, true
	}
	parts := strings.Split(set, ".")
	if len(parts) != 3 {
		return 0, false
	}
	v := s.ctx.Variables["data"]
	for _, name := range []string{parts[1], parts[2], "by_name"} {
		if v == cty.NilVal || !v.IsKnown() || v.IsNull() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
			return 0, false
		}
		v = v.GetAttr(name)
	}
	return knownLength(v)
}

// initialVoters decides the voter count of cluster c before the runbook
// runs.
func (s *safety) initialVoters(c cluster, given int, varNames ...string) int {
	if given > 0 {
		return given
	}
	for _, name := range varNames {
		v := s.ctx.Variables["var"]
		if !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
			continue
		}
		x := v.GetAttr(name)
		if x.IsKnown() && !x.IsNull() && x.Type() == cty.Number {
			if n, acc := x.AsBigFloat().Int64(); acc == 0 && n > 0 && n < 1<<16 {
				return int(n)
			}
		}
	}
	n := 3
	for _, d := range s.rb.Data {
		if d == nil || (c == clusterNomad) != (d.Type == lang.DataNomadServers) || d.Type == lang.DataNomadNodes {
			continue
		}
		if k, ok := s.knownDataCount(d.Addr()); ok {
			n = max(n, k)
		}
	}
	// A for_each over a known map of this cluster's servers proves the
	// cluster has at least that many.
	for _, u := range s.units {
		if u.step.ForEach == nil || s.instanceCluster(u) != c {
			continue
		}
		v, diags := u.step.ForEach.Value(s.ctx)
		if diags.HasErrors() {
			continue
		}
		if k, ok := knownLength(v); ok {
			n = max(n, k)
		}
	}
	return n
}

// instanceCluster returns the cluster whose servers the instances of a
// for_each step act on, one each.
func (s *safety) instanceCluster(u *facts) cluster {
	if len(u.inner) == 0 {
		if u.tgt.perInstance {
			return clusterOf(u.tgt.kind)
		}
		return clusterNone
	}
	for _, in := range u.inner {
		if in.tgt.perInstance && in.tgt.isServer() {
			return clusterOf(in.tgt.kind)
		}
	}
	return clusterNone
}

// resolveCounts fills count and parallel now that voters are known.
func (s *safety) resolveCounts() {
	for _, u := range s.units {
		t := u.tgt
		if len(u.inner) > 0 {
			for _, in := range u.inner {
				if in.tgt.perInstance {
					t = in.tgt
					break
				}
			}
		}
		u.count, u.countKnown = 1, true
		if u.step.ForEach != nil {
			ft := s.exprTarget(u.step.ForEach, nil)
			if ft.kind == lang.TargetNone {
				ft = t
				ft.set, ft.attr = "", ""
			}
			u.count, u.countKnown = s.countOf(u.step.ForEach, ft)
		}
		p, known := s.maxParallel(u.step)
		if !known {
			// Not known offline (it depends on a data source): the
			// worst legal value runs every instance at once.
			p = max(u.count, 1)
		}
		u.parallel = min(p, max(u.count, 1))
		s.countDestroys(u)
		for _, in := range u.inner {
			in.count, in.parallel, in.countKnown = u.count, u.parallel, u.countKnown
			s.countDestroys(in)
		}
	}
}

// disabled reports whether st's enabled is known to be false in the
// analysis's scope: such a step does nothing, and its dependants are
// ordered after what it depends on (the graph's ancestry goes through it
// still). Unknown offline, it is assumed to run: the worst case.
func (s *safety) disabled(st *lang.Step) bool {
	if st.Enabled == nil {
		return false
	}
	v, d := st.Enabled.Value(s.ctx)
	if d.HasErrors() {
		return false
	}
	on, known, _ := lang.EnabledValue(v, st.Enabled.Range())
	return known && !on
}

// maxParallel is st's max_parallel as the analysis sees it: the literal,
// else its expression's value in the analysis's scope (at plan, the
// planner's, with the data sources read), and whether it is known. An
// unknown or invalid value is not known; Validate and Resolve report
// invalid ones.
func (s *safety) maxParallel(st *lang.Step) (int, bool) {
	if st.MaxParallelExpr == nil {
		return max(st.MaxParallel, 1), true
	}
	v, d := st.MaxParallelExpr.Value(s.ctx)
	if d.HasErrors() {
		return 0, false
	}
	n, known, _ := lang.MaxParallelValue(v, st.MaxParallelExpr.Range())
	return n, known
}

// countDestroys counts the members of each set a terraform_apply
// destroys. A set named inside a larger expression (merge, values) still
// counts whole: the worst case.
func (s *safety) countDestroys(f *facts) {
	f.destroysCount = make([]int, len(f.destroys))
	for i, d := range f.destroys {
		if d.members != nil {
			f.destroysCount[i] = len(d.members)
			continue
		}
		f.destroysCount[i], _ = s.countOf(nil, d)
		if strings.HasPrefix(d.set, "data.") {
			f.destroysCount[i], _ = s.countOf(s.actionArg(f.step, "destroys"), d)
		}
	}
}

func (s *safety) actionArg(st *lang.Step, name string) hcl.Expression {
	if st.Action == nil || st.Action.Args[name] == nil {
		return nil
	}
	return st.Action.Args[name].Expr
}

// collectWaivers records every allow_unsafe rule, and rejects IDs that
// name no rule.
func (s *safety) collectWaivers() {
	var visit func(st *lang.Step)
	visit = func(st *lang.Step) {
		if st == nil {
			return
		}
		if au := st.AllowUnsafe; au != nil {
			for i, r := range au.Rules {
				rng := au.DeclRange
				if i < len(au.RuleRanges) {
					rng = au.RuleRanges[i]
				}
				if !slices.Contains(Rules, r) {
					s.diags = append(s.diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Unknown safety rule",
						Detail:   fmt.Sprintf("%q is not one of nrun's safety rules (%s to %s). Name the rule that nrun validate reported for this step, or remove it from rules.", r, Rules[0], Rules[len(Rules)-1]),
						Subject:  rng.Ptr(),
						Context:  st.Body.Ptr(),
					})
					continue
				}
				s.waivers = append(s.waivers, Waiver{Step: st.Addr, Rule: r, Reason: au.Reason, Range: rng})
			}
		}
		for _, in := range st.Steps {
			visit(in)
		}
	}
	for _, st := range s.rb.Steps {
		visit(st)
	}
}

// waived reports whether st (or its composite) waives rule, and marks the
// waiver used.
func (s *safety) waived(st *lang.Step, rule string) bool {
	found := false
	for i := range s.waivers {
		w := &s.waivers[i]
		if w.Rule == rule && (w.Step == st.Addr || st.Addr.Nested() && w.Step == st.Addr.Parent()) {
			w.Used = true
			found = true
		}
	}
	return found
}

// report adds a safety diagnostic for st unless st waives the rule.
func (s *safety) report(st *lang.Step, rule string, sev hcl.DiagnosticSeverity, subject hcl.Range, summary, detail string) {
	if s.waived(st, rule) {
		return
	}
	if subject.Filename == "" {
		subject = st.DeclRange
	}
	ctx := st.Body
	if ctx.Filename == "" {
		ctx = st.DeclRange
	}
	s.diags = append(s.diags, &hcl.Diagnostic{
		Severity: sev,
		Summary:  summary + " (" + rule + ")",
		Detail:   detail,
		Subject:  subject.Ptr(),
		Context:  ctx.Ptr(),
		Extra:    RuleDiag{Rule: rule},
	})
}

// attrRange returns the range of attribute name in st's block, from the
// IR, or st's header when the attribute is absent.
func (s *safety) attrRange(st *lang.Step, name string) hcl.Range {
	if r, ok := st.AttrRanges[name]; ok {
		return r
	}
	return st.DeclRange
}

// serversOf is the catalog's name for cluster c's servers.
func serversOf(c cluster) lang.Cluster {
	switch c {
	case clusterNomad:
		return lang.ClusterNomadServers
	case clusterConsul:
		return lang.ClusterConsulServers
	}
	return lang.ClusterNone
}

// proves reports whether one of checks proves g about cluster c, for a
// step whose target is of kind k. A check counts only when the cluster it
// reads (its literal cluster argument, else its catalog rule) is c: a
// Nomad quorum_ok guards nothing on Consul. A cluster argument that is
// not a literal string cannot be proven to match, so it does not count.
func (s *safety) proves(checks []*lang.Check, g lang.Guarantee, c cluster, k lang.TargetKind) bool {
	return s.provingCheck(checks, g, c, k, true) != nil
}

// provingCheck returns the first check that proves g about c (match) or
// that would, but reads another cluster (!match).
func (s *safety) provingCheck(checks []*lang.Check, g lang.Guarantee, c cluster, k lang.TargetKind, match bool) *lang.Check {
	for _, ch := range checks {
		if ch == nil {
			continue
		}
		spec := lang.CheckSpecs[ch.Name]
		if spec == nil {
			continue
		}
		if g == lang.ProvesJoined && spec.Has(lang.ProvesJoinedWithCount) && ch.Args["count"] != nil {
			// servers_healthy { count = N } proves the new voters joined.
		} else if !spec.Has(g) {
			continue
		}
		arg, ok := "", true
		if a := ch.Args[spec.Cluster.Attr]; spec.Cluster.Attr != "" && a != nil {
			arg, ok = s.literalString(a.Expr)
		}
		kind := k
		if a := ch.Args[spec.TargetAttr]; spec.TargetAttr != "" && a != nil {
			kind = s.exprTarget(a.Expr, nil).kind
		}
		if (ok && spec.Cluster.Of(arg, kind) == serversOf(c) || g == lang.ProvesDrained) == match {
			return ch
		}
	}
	return nil
}

// literalString is the value of a string expression known offline.
func (s *safety) literalString(e hcl.Expression) (string, bool) {
	v, diags := e.Value(s.ctx)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

// otherCluster is a sentence for a Detail when checks hold a check that
// would prove g, but about another cluster than c.
func (s *safety) otherCluster(checks []*lang.Check, g lang.Guarantee, c cluster, k lang.TargetKind) string {
	ch := s.provingCheck(checks, g, c, k, false)
	if ch == nil {
		return ""
	}
	kind := "precondition"
	if ch.Kind == lang.KindWait {
		kind = "wait"
	}
	return fmt.Sprintf(" Its %s %q does not count: it reads another cluster than the %s servers; set cluster = %q on it, or leave cluster out where the target decides.",
		kind, ch.Name, c, lang.ClusterArgName(serversOf(c)))
}

// actionSpec is the catalog entry of st's action, or nil.
func actionSpec(st *lang.Step) *lang.ActionSpec {
	if st.Action == nil {
		return nil
	}
	return lang.ActionSpecs[st.Action.Type]
}

// snapshots reports whether st saves a snapshot of cluster c.
func snapshots(st *lang.Step, c cluster) bool {
	spec := actionSpec(st)
	return spec != nil && spec.Effect == lang.EffectSnapshot && spec.Cluster == serversOf(c)
}

// snapshotAction names the action that saves a snapshot of c.
func snapshotAction(c cluster) string {
	for _, name := range lang.ActionTypes() {
		if spec := lang.ActionSpecs[name]; spec.Effect == lang.EffectSnapshot && spec.Cluster == serversOf(c) {
			return name
		}
	}
	return ""
}

// addrList renders step addresses for a Detail.
func addrList(fs []*facts) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, f.addr().String())
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}
