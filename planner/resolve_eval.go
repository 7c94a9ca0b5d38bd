package planner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/nrun-dev/nrun/addrs"
	"github.com/nrun-dev/nrun/checks"
	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// resolver holds the state of one Resolve call.
type resolver struct {
	rb    *lang.Runbook
	sc    *lang.Scope
	view  *cview.View
	g     *Graph
	plan  *Plan
	diags hcl.Diagnostics

	sensitive map[string]bool   // sensitive variable names
	sens      *lang.Sensitivity // traces sensitive variables through locals
	nodes     map[string]*cview.Node
	nodeIDs   map[string]bool
	jobKeys   map[string]bool

	// sameType is set while expanding a for_each over a map or set, whose
	// elements all have one type; lastTypeJSON is that type's JSON once
	// known.
	sameType bool
	// sensitiveEach is set while expanding a for_each computed from a
	// sensitive variable: each.value is then not recorded.
	sensitiveEach bool
	// total counts the instances planned so far, inner ones included,
	// against the runbook's max_total_instances.
	total        int
	salt         []byte // keys the variable hashes
	lastTypeJSON []byte

	// destroyed are the objects terraform_apply steps destroy, as the
	// safety analysis resolved them ("kind/name/id").
	destroyed []string

	// finish is the last wave of each top-level step, -1 for a step
	// without instances whose dependencies finished before wave 0.
	finish map[addrs.Step]int
	// disabled maps each step whose enabled is false to what it would
	// have waited for, so its dependants wait for that instead.
	disabled map[addrs.Step][]string
}

func resolve(rb *lang.Runbook, inputs map[string]cty.Value, view *cview.View, opts ResolveOptions) (*Plan, hcl.Diagnostics) {
	p := &Plan{
		FormatVersion: FormatVersion,
		Variables:     []Variable{},
		Steps:         []StepInfo{},
		Instances:     []*Instance{},
		Waves:         [][]string{},
		Waivers:       []PlanWaiver{},
		Diagnostics:   []Diagnostic{},
	}
	if rb == nil {
		return p, nil
	}
	notNeeded := !NeedsCluster(rb)
	if notNeeded {
		// Whatever view was given (an inventory), the plan must not
		// depend on it: apply reads no cluster for this runbook.
		view = nil
	}
	r := &resolver{rb: rb, view: view, plan: p, sensitive: map[string]bool{}, nodeIDs: map[string]bool{}, jobKeys: map[string]bool{}, finish: map[addrs.Step]int{}}
	p.Runbook = runbookInfo(rb)
	p.Cluster = clusterInfo(view)
	p.Cluster.NotNeeded = notNeeded
	if view != nil {
		p.Cluster.Source = SourceLive
		if opts.Inventory != "" {
			p.Cluster.Source, p.Cluster.Inventory = SourceInventory, opts.Inventory
		}
	}

	sc, diags := lang.ValidateWithScope(rb, inputs)
	if sc == nil {
		sc, _ = lang.NewScope(rb, inputs)
	}
	r.sc = sc
	r.diags = diags
	r.salt = opts.Salt
	if len(r.salt) > 0 {
		p.InputSalt = hex.EncodeToString(r.salt)
	}
	r.variables()
	r.sens = lang.NewSensitivity(rb)

	g := opts.Graph
	if g == nil {
		var gd hcl.Diagnostics
		g, gd = BuildGraph(rb)
		r.diags = append(r.diags, gd...)
	}
	r.g = g

	// The one scope of this plan: PreviewTerraform and the executor take
	// it from the plan (Plan.Scope), so nothing fills data sources again.
	r.diags = append(r.diags, fillData(sc, view)...)
	p.scope = sc
	if view != nil && view.Nomad != nil {
		r.nodes = make(map[string]*cview.Node, 2*len(view.Nomad.Nodes))
		for i := range view.Nomad.Nodes {
			n := &view.Nomad.Nodes[i]
			r.nodes[n.ID] = n
			if _, dup := r.nodes[n.Name]; !dup {
				r.nodes[n.Name] = n
			}
		}
	}

	sopts := SafetyOptions{Scope: sc, Inputs: inputs, Plan: true, View: view}
	if view != nil && view.Nomad != nil {
		sopts.NomadVoters = view.Nomad.Raft.Voters()
		sopts.Nodes = view.Nomad.Nodes
	}
	if view != nil && view.Consul != nil {
		sopts.ConsulVoters = view.Consul.Raft.Voters()
	}
	rep, sd := CheckSafety(rb, g, sopts)
	r.diags = append(r.diags, sd...)
	r.destroyed = rep.Destroyed
	for _, k := range rep.Destroyed {
		// A client terraform destroys is in the fingerprint, so apply
		// refuses a saved plan when it changed.
		if rest, ok := strings.CutPrefix(k, string(lang.TargetNomadNode)+"/"); ok {
			if i := strings.LastIndex(rest, "/"); i >= 0 && rest[i+1:] != "" {
				r.nodeIDs[rest[i+1:]] = true
			}
		}
	}
	for _, w := range rep.Waivers {
		p.Waivers = append(p.Waivers, PlanWaiver{Step: w.Step.String(), Rule: w.Rule, Reason: w.Reason, Used: w.Used, Range: rangeString(w.Range)})
	}

	r.steps()
	r.summarise()

	nodes := make([]string, 0, len(r.nodeIDs))
	for id := range r.nodeIDs {
		nodes = append(nodes, id)
	}
	jobs := make([]string, 0, len(r.jobKeys))
	for k := range r.jobKeys {
		jobs = append(jobs, k)
	}
	if !notNeeded {
		p.Fingerprint = FingerprintOf(view, nodes, jobs)
	}

	for _, d := range r.diags {
		p.Diagnostics = append(p.Diagnostics, planDiagnostic(d))
	}
	return p, r.diags
}

// SourceHash is the hash recorded in RunbookInfo.SourceHash: SHA-256 over
// every file, in sorted name order, of name, NUL, length, NUL, bytes.
func SourceHash(files map[string][]byte) string {
	h := sha256.New()
	for _, name := range sortedKeys(files) {
		b := files[name]
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(b))
		h.Write(b)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// RunbookSourceHash is SourceHash over the files rb was parsed from.
func RunbookSourceHash(rb *lang.Runbook) string {
	files := map[string][]byte{}
	if rb != nil {
		for name, f := range rb.Files {
			if f != nil {
				files[name] = f.Bytes
			}
		}
	}
	return SourceHash(files)
}

func runbookInfo(rb *lang.Runbook) RunbookInfo {
	info := RunbookInfo{Paths: []string{}, SourceHash: RunbookSourceHash(rb)}
	if rb.Meta != nil {
		info.Name, info.Description = rb.Meta.Name, rb.Meta.Description
	}
	for name := range rb.Files {
		info.Paths = append(info.Paths, name)
	}
	sort.Strings(info.Paths)
	return info
}

func clusterInfo(v *cview.View) ClusterInfo {
	var c ClusterInfo
	if v == nil {
		return c
	}
	c.Taken = v.Taken
	if v.Nomad != nil {
		// An inventory captured before addresses were stored without
		// userinfo may still carry user:password@.
		c.Nomad = raftInfo(cview.ShownAddress(v.Nomad.Address), v.Nomad.Region, v.Nomad.Raft)
		c.Nomad.Nodes = len(v.Nomad.Nodes)
	}
	if v.Consul != nil {
		c.Consul = raftInfo(cview.ShownAddress(v.Consul.Address), v.Consul.Datacenter, v.Consul.Raft)
	}
	return c
}

func raftInfo(addr, region string, r cview.RaftView) *RaftInfo {
	info := &RaftInfo{
		Address: addr, Region: region, Servers: []ServerInfo{}, Versions: []string{},
		Voters: r.Voters(), HealthyVoters: r.HealthyVoters(), Quorum: r.Quorum(), FailureTolerance: r.FailureTolerance(),
	}
	leader, hasLeader := r.Leader()
	if hasLeader {
		info.Leader = leader.Name
	}
	seen := map[string]bool{}
	for _, s := range r.Servers {
		info.Servers = append(info.Servers, ServerInfo{
			ID: s.ID, Name: s.Name, Address: s.Address, Version: s.Version,
			Voter: s.InRaft && s.Voter, Leader: hasLeader && s.Address == leader.Address,
			Healthy: r.Counted(s), Status: s.Status,
		})
		if s.Version != "" && !seen[s.Version] {
			seen[s.Version] = true
			info.Versions = append(info.Versions, s.Version)
		}
	}
	sort.Strings(info.Versions)
	return info
}

// variables records every declared variable and requires a value for each.
func (r *resolver) variables() {
	for _, v := range r.rb.Variables {
		if v.Sensitive {
			r.sensitive[v.Name] = true
		}
		val, ok := r.sc.Vars[v.Name]
		if !ok || !val.IsWhollyKnown() {
			r.diags = append(r.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "No value for required variable",
				Detail:   fmt.Sprintf("The variable %q has no default, so planning needs a value for it. Pass it with -var '%s=...' or in a -var-file.", v.Name, v.Name),
				Subject:  v.DeclRange.Ptr(),
			})
			continue
		}
		pv := Variable{Name: v.Name, Sensitive: v.Sensitive}
		js, err := ctyjson.Marshal(val, val.Type())
		if len(r.salt) > 0 {
			pv.Hash = valueHash(r.salt, val)
		}
		if v.Sensitive {
			pv.Value = "(sensitive)"
		} else {
			pv.Value = renderValue(val)
			if err == nil {
				pv.JSON = js
				if t, err := ctyjson.MarshalType(val.Type()); err == nil {
					pv.Type = t
				}
			}
		}
		r.plan.Variables = append(r.plan.Variables, pv)
	}
}

// steps expands every top-level step in graph order.
func (r *resolver) steps() {
	wave := func(level int, addr string) {
		for len(r.plan.Waves) <= level {
			r.plan.Waves = append(r.plan.Waves, []string{})
		}
		r.plan.Waves[level] = append(r.plan.Waves[level], addr)
	}
	for _, a := range r.g.Order() {
		st := r.g.Step(a)
		if st == nil {
			continue
		}
		info := StepInfo{Addr: a.String(), Description: st.Description, Order: string(st.Order), MaxParallel: r.planMaxParallel(st)}
		if st.MaxFailures != nil {
			info.MaxFailures = st.MaxFailures.String()
		}
		if info.MaxParallel < 1 {
			info.MaxParallel = 1
		}
		base := 0
		var deps []string
		for _, pr := range r.g.Preds(a) {
			if through, off := r.disabled[pr]; off {
				// Ordered as if the disabled step had run in no time:
				// wait for what it would have waited for.
				deps = mergeSorted(deps, through)
			} else {
				deps = mergeSorted(deps, []string{pr.String()})
			}
			if f, ok := r.finish[pr]; ok && f+1 > base {
				base = f + 1
			}
		}
		deps = slices.Compact(deps)
		info.DependsOn = deps
		if r.stepDisabled(st) {
			info.Disabled, info.DisabledBy = true, exprText(r.rb, st.Enabled)
			if r.disabled == nil {
				r.disabled = map[addrs.Step][]string{}
			}
			r.disabled[a] = deps
			r.finish[a] = base - 1
			r.plan.Steps = append(r.plan.Steps, info)
			continue
		}
		r.refsToDisabled(st)
		inner := r.g.Inner(a)
		var innerOrder []addrs.Step
		innerLevel := map[addrs.Step]int{}
		depth := 1
		if inner != nil {
			innerOrder = inner.Order()
			for i, w := range inner.Waves() {
				for _, s := range w {
					innerLevel[s] = i
				}
			}
			depth = len(inner.Waves())
			for _, s := range innerOrder {
				info.Inner = append(info.Inner, s.String())
			}
		}

		eaches, keyed := r.expand(st)
		r.total += len(eaches) * (1 + len(st.Steps))
		if st.ForEach != nil {
			info.ForEach = exprText(r.rb, st.ForEach)
		}
		info.Instances = len(eaches)
		finish := base - 1
		var prevBatch []string
		for b := 0; b*info.MaxParallel < len(eaches); b++ {
			lo, hi := b*info.MaxParallel, min((b+1)*info.MaxParallel, len(eaches))
			start := max(base, finish+1)
			var batch []string
			for _, e := range eaches[lo:hi] {
				each := &e
				key := addrs.NoKey
				if keyed {
					key = addrs.StringKey(keyString(e.Key))
				} else {
					each = nil
				}
				in := r.instance(st, addrs.Instance{Step: a, Key: key}, each, nil)
				in.DependsOn = mergeSorted(deps, prevBatch)
				batch = append(batch, in.Addr.String())
				if inner == nil {
					in.Wave = start
					wave(start, in.Addr.String())
					continue
				}
				in.Wave = -1
				for _, ia := range innerOrder {
					ist := inner.Step(ia)
					if ist == nil {
						continue
					}
					sub := r.instance(ist, addrs.Instance{Step: ia, Key: key}, each, in)
					var ideps []string
					for _, pr := range inner.Preds(ia) {
						ideps = append(ideps, addrs.Instance{Step: pr, Key: key}.String())
					}
					sort.Strings(ideps)
					sub.DependsOn = ideps
					sub.Wave = start + innerLevel[ia]
					wave(sub.Wave, sub.Addr.String())
					in.Inner = append(in.Inner, sub.Addr.String())
					if sub.Glyph != GlyphRead && (in.Glyph == GlyphRead || in.Glyph == 0) {
						in.Glyph = sub.Glyph
					}
				}
			}
			finish = start + depth - 1
			prevBatch = batch
		}
		r.finish[a] = finish
		r.plan.Steps = append(r.plan.Steps, info)
	}
}

// expand evaluates a step's for_each into its instances in run order. The
// second result is false for a step without for_each (one instance, no
// key).
func (r *resolver) expand(st *lang.Step) ([]lang.Each, bool) {
	r.sameType, r.lastTypeJSON = false, nil
	r.sensitiveEach = st.ForEach != nil && r.usesSensitive(st.ForEach)
	if st.ForEach == nil {
		return []lang.Each{{}}, false
	}
	v, d := st.ForEach.Value(r.sc.EvalContext(nil))
	r.diags = append(r.diags, d...)
	if d.HasErrors() {
		return nil, true
	}
	// Refuse before building anything: ExpandForEach and the instances
	// cost memory in proportion to the length.
	if n, ok := lang.ForEachLength(v); ok {
		perStep, total := r.rb.InstanceLimits()
		if n > perStep {
			// Validate reports a for_each known without the cluster.
			if !r.reported("Too many instances", st.ForEach.Range()) {
				r.diags = append(r.diags, lang.TooManyInstances(st.Addr.String(), n, perStep, st.ForEach.Range()))
			}
			return nil, true
		}
		if r.total+n*(1+len(st.Steps)) > total {
			r.diags = append(r.diags, tooManyInTotal(st, r.total, n*(1+len(st.Steps)), total))
			return nil, true
		}
	}
	eaches, err := lang.ExpandForEach(v)
	if err != nil {
		r.diags = append(r.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Cannot expand for_each",
			Detail:   fmt.Sprintf("The for_each of %s cannot be expanded at plan time: %v. for_each may use variables, locals and data sources, whose values are known when planning; give every variable a value.", st.Addr, err),
			Subject:  st.ForEach.Range().Ptr(),
		})
		return nil, true
	}
	r.sameType, r.lastTypeJSON = v.Type().IsMapType() || v.Type().IsSetType(), nil
	if st.Order == lang.OrderLeaderLast {
		eaches = lang.LeaderLast(eaches)
	}
	return eaches, true
}

// reported reports whether a diagnostic with summary at rng is already in
// r.diags (from the validation that ran first).
func (r *resolver) reported(summary string, rng hcl.Range) bool {
	for _, d := range r.diags {
		if d.Summary == summary && d.Subject != nil && *d.Subject == rng {
			return true
		}
	}
	return false
}

// tooManyInTotal is the diagnostic for a step whose n instances would
// take the plan past its total cap, after planned instances before it.
func tooManyInTotal(st *lang.Step, planned, n, limit int) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Too many instances",
		Detail: fmt.Sprintf("The for_each of %s adds %d instances (inner steps included) to the %d planned before it, more than the cap of %d for the whole plan, so nrun refuses it before building them. "+
			"Narrow the collections, or split the work over several runbooks; if the plan really needs that many, raise the cap with max_total_instances = %d in the runbook block (at most %d).",
			st.Addr, n, planned, limit, planned+n, lang.InstanceCeiling),
		Subject: st.ForEach.Range().Ptr(),
	}
}

func keyString(k cty.Value) string {
	if k.IsKnown() && !k.IsNull() && k.Type() == cty.String {
		return k.AsString()
	}
	return renderValue(k)
}

// instance resolves one instance of st. parent is the composite instance
// of an inner step, nil otherwise.
func (r *resolver) instance(st *lang.Step, addr addrs.Instance, each *lang.Each, parent *Instance) *Instance {
	in := &Instance{
		Addr:        addr,
		Step:        st.Addr,
		Description: st.Description,
		OnFailure:   st.OnFailure,
		Timeout:     Duration(r.planTimeout(st.Timeout, st.TimeoutExpr)),
	}
	if in.OnFailure == "" {
		in.OnFailure = lang.OnFailureAbort
	}
	if parent != nil && !st.OnFailureSet {
		// An inner step follows its composite's on_failure unless it
		// sets its own (LANGUAGE.md, on_failure).
		in.OnFailure, in.OnFailureInherited = parent.OnFailure, true
	}
	if st.Retry != nil {
		in.Retry = &Retry{Attempts: st.Retry.Attempts, Delay: Duration(st.Retry.Delay)}
	}
	if addr.Key.Valid {
		in.Key = addr.Key.Value
	}
	if parent != nil {
		in.Parent = parent.Addr.String()
	}
	if parent != nil {
		in.Each = parent.Each
	} else if each != nil && each.Value != cty.NilVal && !r.sensitiveEach {
		if tj, err := r.typeJSON(each.Value.Type()); err == nil {
			vj, ok := appendJSON(nil, each.Value)
			if !ok {
				vj, err = ctyjson.Marshal(each.Value, each.Value.Type())
			}
			if err == nil {
				in.Each = &EachValue{Type: tj, Value: vj}
			}
		}
	}
	ctx := r.sc.StepEvalContext(st, each)

	// The target: the step's own, else its composite's, else each.value of
	// its for_each (LANGUAGE.md: the default target).
	var target checks.Target
	switch {
	case st.Target != nil:
		target = r.targetOf(st.Target, ctx)
	case parent != nil:
		target = checks.Target(parent.Target)
	case st.ForEach != nil:
		target = r.targetOf(st.EffectiveTarget(), ctx)
	}
	if st.Action != nil {
		act := &ActionPlan{Type: st.Action.Type, Effect: st.Action.Effect, Args: []Arg{}}
		spec := lang.ActionSpecs[st.Action.Type]
		for _, name := range sortedKeys(st.Action.Args) {
			attr := st.Action.Args[name]
			act.Args = append(act.Args, r.arg(name, attr.Expr, ctx))
			if spec != nil && spec.TargetAttr == name {
				if t := r.targetOf(attr.Expr, ctx); t.Kind != lang.TargetNone || t.ID != "" || t.Name != "" {
					if t.Kind == lang.TargetNone {
						t.Kind = spec.Target
					}
					target = t
				}
			}
		}
		if spec != nil && spec.Target == lang.TargetJob && target.Kind == lang.TargetJob {
			r.jobKeys[r.jobKey(target.Name)] = true
		}
		in.Action = act
		if actionPreview(st.Action.Type) == lang.PreviewJob {
			r.recordJobRun(in, st.Action, ctx)
		}
		if spec != nil && spec.Restores != "" {
			r.previewRestore(in, st, spec, ctx)
		}
		in.Glyph = GlyphOf(act.Effect)
	} else {
		in.Glyph = GlyphRead
	}
	r.completeTarget(&target)
	if target.Kind == lang.TargetNone && target.Name != "" && st.Action != nil {
		if spec := lang.ActionSpecs[st.Action.Type]; spec != nil {
			target.Kind = spec.Target
		}
	}
	in.Target = Target(target)

	for _, c := range st.Preconditions {
		cp := r.check(c, ctx, target)
		if cp.Blocking {
			in.BlockedNow = true
		}
		in.Preconditions = append(in.Preconditions, cp)
	}
	for _, c := range st.Waits {
		in.Waits = append(in.Waits, r.check(c, ctx, target))
	}
	r.plan.Instances = append(r.plan.Instances, in)
	return in
}

// typeJSON is ctyjson.MarshalType, computed once per step when every
// each.value has the same type (a map or set for_each).
func (r *resolver) typeJSON(t cty.Type) ([]byte, error) {
	if r.sameType && r.lastTypeJSON != nil {
		return r.lastTypeJSON, nil
	}
	b, err := ctyjson.MarshalType(t)
	if err == nil {
		r.lastTypeJSON = b
	}
	return b, err
}

// targetOf evaluates a target expression: an object from a data source or
// a name.
func (r *resolver) targetOf(e hcl.Expression, ctx *hcl.EvalContext) checks.Target {
	v, d := e.Value(ctx)
	if d.HasErrors() {
		r.diags = append(r.diags, d...)
		return checks.Target{}
	}
	// TargetFromValue refuses a value that is null or not wholly known.
	t, err := checks.TargetFromValue(v)
	if err != nil {
		return checks.Target{}
	}
	if r.usesSensitive(e) {
		// A target computed from a sensitive value is shown only when it
		// names an object of the cluster, which the plan header lists
		// anyway; any other name stays secret.
		r.completeTarget(&t)
		if t.Kind == lang.TargetNone {
			return checks.Target{Name: "(sensitive)"}
		}
	}
	return t
}

// completeTarget looks a target given by name up in the view, so that the
// plan shows what it is and the fingerprint covers it.
func (r *resolver) completeTarget(t *checks.Target) {
	if t.Kind == lang.TargetNone && t.Name != "" {
		// A plain string naming a node or a server.
		if n, ok := r.nodes[t.Name]; ok {
			*t = checks.Target{Kind: lang.TargetNomadNode, ID: n.ID, Name: n.Name, Address: n.Address}
		} else if s, ok := r.findServer(t.Name); ok {
			*t = s
		}
	}
	if t.Kind == lang.TargetNomadNode {
		ref := t.ID
		if ref == "" {
			ref = t.Name
		}
		if n, ok := r.nodes[ref]; ok {
			t.ID, t.Name = n.ID, n.Name
			if t.Address == "" {
				t.Address = n.Address
			}
			r.nodeIDs[n.ID] = true
		}
	}
	if (t.Kind == lang.TargetNomadServer || t.Kind == lang.TargetConsulServer) && t.Address == "" {
		if s, ok := r.findServer(t.Name); ok && s.Kind == t.Kind {
			*t = s
		}
	}
}

func (r *resolver) findServer(ref string) (checks.Target, bool) {
	if r.view == nil {
		return checks.Target{}, false
	}
	if r.view.Nomad != nil {
		if s, ok := r.view.Nomad.Raft.Find(ref); ok {
			return checks.Target{Kind: lang.TargetNomadServer, ID: s.ID, Name: s.Name, Address: s.Address}, true
		}
	}
	if r.view.Consul != nil {
		if s, ok := r.view.Consul.Raft.Find(ref); ok {
			return checks.Target{Kind: lang.TargetConsulServer, ID: s.ID, Name: s.Name, Address: s.Address}, true
		}
	}
	return checks.Target{}, false
}

func (r *resolver) jobKey(id string) string {
	if r.view != nil && r.view.Nomad != nil {
		if j, ok := r.view.Nomad.Job("", id); ok {
			return j.Namespace + "/" + j.ID
		}
	}
	return "/" + id
}

// usesSensitive reports whether e refers to a sensitive variable, directly,
// through a local value computed from one, or through each in a for_each
// over one (which lang.Validate refuses, so this is a second guard).
func (r *resolver) usesSensitive(e hcl.Expression) bool {
	if r.sensitiveEach {
		for _, tr := range e.Variables() {
			if tr.RootName() == "each" {
				return true
			}
		}
	}
	return r.sens.Uses(e)
}

// arg resolves one argument for display.
func (r *resolver) arg(name string, e hcl.Expression, ctx *hcl.EvalContext) Arg {
	a := Arg{Name: name, Sensitive: r.usesSensitive(e)}
	v, d := e.Value(ctx)
	if d.HasErrors() {
		r.diags = append(r.diags, d...)
		a.Value = "(invalid)"
		return a
	}
	a.Known = v.IsWhollyKnown()
	// A NUL known only now (from a data source or variable) is refused
	// here, before anything runs; validate reports the static ones.
	if where, ok := lang.FindNUL(v, !a.Sensitive); ok && !r.reported("NUL byte in a string", e.Range()) {
		r.diags = append(r.diags, lang.NULDiagnostic(name, where, e.Range()))
	}
	if a.Sensitive {
		a.Value = "(sensitive)"
		return a
	}
	a.Value = renderValue(v)
	return a
}

// check resolves a precondition or wait; preconditions are evaluated
// against the view.
func (r *resolver) check(c *lang.Check, ctx *hcl.EvalContext, target checks.Target) CheckPlan {
	cp := CheckPlan{Name: c.Name, Timeout: Duration(r.planTimeout(c.Timeout, c.TimeoutExpr)), Interval: Duration(c.Interval)}
	if c.Name == "" {
		cp.Name = "custom"
	}
	vals := map[string]cty.Value{}
	known := true
	for _, name := range sortedKeys(c.Args) {
		attr := c.Args[name]
		cp.Args = append(cp.Args, r.arg(name, attr.Expr, ctx))
		v, d := attr.Expr.Value(ctx)
		if d.HasErrors() || !v.IsWhollyKnown() {
			known = false
			continue
		}
		vals[name] = v
	}
	if c.Kind != lang.KindPrecondition {
		return cp
	}
	now := &CheckNow{}
	cp.Now = now
	if c.Name == "" {
		r.custom(c, ctx, now)
	} else {
		switch {
		case !known:
			now.Status, now.Reason = CheckUnknown, "an argument is known only after apply"
		case r.view == nil:
			now.Status, now.Reason = CheckUnknown, "no cluster view was read"
		case !checks.Pure(c.Name):
			now.Status, now.Reason = CheckUnknown, c.Name+" is probed only when the step runs"
		default:
			args, err := checks.ArgsFromCty(vals)
			if err != nil {
				now.Status, now.Reason = CheckUnknown, err.Error()
				break
			}
			for _, t := range []*checks.Target{args.Node, args.Server} {
				if t != nil {
					r.completeTarget(t)
				}
			}
			if args.Job != "" {
				r.jobKeys[r.jobKey(args.Job)] = true
			}
			res := checks.Eval(c.Name, args, target, r.checkView(args, target))
			now.Observed = res.Observed
			if res.OK {
				now.Status = CheckOK
			} else if remedyOf(c.Name) == lang.RemedyTransferLeadership && args.Transfer {
				now.Status, now.Reason = CheckHandled, "leadership is transferred to another voter before the action"
			} else {
				now.Status, now.Reason = CheckBlocked, res.Reason
			}
		}
	}
	cp.Blocking = now.Status == CheckBlocked
	return cp
}

// checkView narrows the view's client nodes to the ones a check can be
// about (its node argument and the target), found through the resolver's
// index. The checks look nodes up by a linear scan, which over thousands
// of nodes and one check per node would make planning quadratic; no check
// looks at any other node.
func (r *resolver) checkView(args checks.Args, target checks.Target) *cview.View {
	if r.view == nil || r.view.Nomad == nil || len(r.view.Nomad.Nodes) < 64 {
		return r.view
	}
	var nodes []cview.Node
	for _, t := range []*checks.Target{args.Node, &target} {
		if t == nil {
			continue
		}
		for _, ref := range []string{t.ID, t.Name} {
			if n, ok := r.nodes[ref]; ok && ref != "" {
				nodes = append(nodes, *n)
				break
			}
		}
	}
	nv := *r.view.Nomad
	nv.Nodes = nodes
	v := *r.view
	v.Nomad = &nv
	return &v
}

// custom evaluates a custom precondition's condition now.
func (r *resolver) custom(c *lang.Check, ctx *hcl.EvalContext, now *CheckNow) {
	if c.Condition == nil {
		now.Status = CheckUnknown
		return
	}
	now.Observed = exprText(r.rb, c.Condition)
	v, d := c.Condition.Value(ctx)
	if d.HasErrors() {
		r.diags = append(r.diags, d...)
		now.Status, now.Reason = CheckUnknown, "the condition could not be evaluated"
		return
	}
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.Bool {
		now.Status, now.Reason = CheckUnknown, "the condition is known only after apply"
		return
	}
	if v.True() {
		now.Status = CheckOK
		return
	}
	now.Status = CheckBlocked
	now.Reason = "condition is false"
	if c.ErrorMessage != nil {
		if r.usesSensitive(c.ErrorMessage) {
			// The reason is printed in the plan and saved with it.
			now.Reason = "(sensitive)"
		} else if m, d := c.ErrorMessage.Value(ctx); !d.HasErrors() && m.IsKnown() && !m.IsNull() && m.Type() == cty.String {
			now.Reason = m.AsString()
		}
	}
}

// summarise fills the plan's Summary.
func (r *resolver) summarise() {
	s := &r.plan.Summary
	servers := map[string]bool{}
	nodes := map[string]bool{}
	for _, in := range r.plan.Instances {
		if in.BlockedNow {
			s.BlockedNow++
		}
		if in.Action == nil {
			continue
		}
		s.Instances++
		switch in.Action.Effect {
		case lang.EffectRestart, lang.EffectStop, lang.EffectStart, lang.EffectDestroy, lang.EffectLeave, lang.EffectRemovePeer:
			if in.Target.Kind == lang.TargetNomadServer || in.Target.Kind == lang.TargetConsulServer {
				servers[string(in.Target.Kind)+"/"+in.Target.Name+"/"+in.Target.ID] = true
			}
		case lang.EffectDrain:
			key := in.Target.ID + "/" + in.Target.Name
			if key == "/" {
				// Not resolved: count the instance, not one for all.
				key = in.Addr.String()
			}
			nodes[key] = true
		}
	}
	// What terraform destroys is in no instance's target.
	for _, k := range r.destroyed {
		if strings.HasPrefix(k, string(lang.TargetNomadServer)+"/") || strings.HasPrefix(k, string(lang.TargetConsulServer)+"/") {
			servers[k] = true
		}
	}
	s.DisruptServers, s.DrainNodes = len(servers), len(nodes)
}

// exprText is the source text of an expression.
func exprText(rb *lang.Runbook, e hcl.Expression) string {
	rng := e.Range()
	if f, ok := rb.Files[rng.Filename]; ok && f != nil && rng.End.Byte <= len(f.Bytes) && rng.Start.Byte <= rng.End.Byte {
		return strings.Join(strings.Fields(string(f.Bytes[rng.Start.Byte:rng.End.Byte])), " ")
	}
	return ""
}

func mergeSorted(a, b []string) []string {
	if len(a) == 0 && len(b) == 0 {
		return nil
	}
	out := append(append([]string(nil), a...), b...)
	sort.Strings(out)
	return out
}

func rangeString(r hcl.Range) string {
	if r.Filename == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d,%d", r.Filename, r.Start.Line, r.Start.Column)
}

func planDiagnostic(d *hcl.Diagnostic) Diagnostic {
	pd := Diagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail, Rule: RuleOf(d)}
	if d.Severity == hcl.DiagWarning {
		pd.Severity = "warning"
	}
	if d.Subject != nil {
		pd.Range = rangeString(*d.Subject)
	}
	return pd
}
