package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/lang"
)

// This file is how the analysis treats objects it cannot type offline:
// what a terraform_apply destroys when it is given by name (a variable,
// a list of strings), and a step target given as a string (a name or ID,
// or each.value over a list of them) for an effect the rules care about.
// Offline such a target may be a Nomad client that was not drained, or a
// Nomad or Consul server: validate says so and leaves it to plan. At plan
// (SafetyOptions.Plan) the names are resolved against the cluster view and
// become targets of the kind they turn out to be, so every rule runs on
// them; a name that matches nothing, or one still unknown, is an error.
// LANGUAGE.md, "What the analysis assumes when it does not know".

// named is one attribute whose objects are given by name.
type named struct {
	attr    string // "destroys" or "target"
	expr    hcl.Expression
	rng     hcl.Range
	forEach hcl.Expression // the for_each each.value comes from, or nil
}

// disruptiveEffect reports whether an effect on a cluster object is one
// the rules judge by the object's kind.
func disruptiveEffect(e lang.Effect) bool {
	switch e {
	case lang.EffectRestart, lang.EffectStop, lang.EffectStart, lang.EffectDestroy:
		return true
	}
	return false
}

// member is one object of the cluster: its kind and a key that is the
// same wherever the object is named (by name, by ID, or as a data source
// object).
type member struct {
	kind lang.TargetKind
	key  string // kind/name/id, as Summary counts objects
}

func memberKey(kind lang.TargetKind, name, id string) string {
	return string(kind) + "/" + name + "/" + id
}

// lookup finds every object of the view that ref names: a Nomad client by
// ID or name, a Nomad or Consul server by ID, name, address or host. A
// host that is a client and a server is all of them.
func (s *safety) lookup(ref string, kind lang.TargetKind) []member {
	v := s.opts.View
	if v == nil || ref == "" {
		return nil
	}
	var out []member
	if v.Nomad != nil && (kind == lang.TargetNone || kind == lang.TargetNomadNode) {
		for _, n := range v.Nomad.Nodes {
			if n.ID == ref || n.Name == ref {
				out = append(out, member{lang.TargetNomadNode, memberKey(lang.TargetNomadNode, n.Name, n.ID)})
				break
			}
		}
	}
	if v.Nomad != nil && (kind == lang.TargetNone || kind == lang.TargetNomadServer) {
		if sv, ok := v.Nomad.Raft.Find(ref); ok {
			out = append(out, member{lang.TargetNomadServer, memberKey(lang.TargetNomadServer, sv.Name, sv.ID)})
		}
	}
	if v.Consul != nil && (kind == lang.TargetNone || kind == lang.TargetConsulServer) {
		if sv, ok := v.Consul.Raft.Find(ref); ok {
			out = append(out, member{lang.TargetConsulServer, memberKey(lang.TargetConsulServer, sv.Name, sv.ID)})
		}
	}
	return out
}

// flatten resolves a value into the objects it names: a string is a
// name, a server or node object is that object, a collection is each of
// its elements. It returns the names that match nothing.
func (s *safety) flatten(v cty.Value, depth int, out *[]member, unmatched *[]string) {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || depth > 3 {
		return
	}
	t := v.Type()
	switch {
	case t == cty.String:
		if m := s.lookup(v.AsString(), lang.TargetNone); len(m) > 0 {
			*out = append(*out, m...)
		} else {
			*unmatched = append(*unmatched, v.AsString())
		}
	case t.IsObjectType() && (t.HasAttribute("id") || t.HasAttribute("name")):
		tg, err := checks.TargetFromValue(v)
		if err != nil {
			return
		}
		ref := tg.ID
		if ref == "" {
			ref = tg.Name
		}
		m := s.lookup(ref, tg.Kind)
		if len(m) == 0 && tg.Name != "" {
			m = s.lookup(tg.Name, tg.Kind)
		}
		if len(m) == 0 {
			*unmatched = append(*unmatched, ref)
		}
		*out = append(*out, m...)
	case t.IsCollectionType() || t.IsObjectType() || t.IsTupleType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			s.flatten(e, depth+1, out, unmatched)
		}
	}
}

// values evaluates n's expression: once, or at plan once per instance of
// the for_each it uses each from. ok is false when a value is not known.
func (s *safety) values(n named, st *lang.Step) ([]cty.Value, bool) {
	sc := s.opts.Scope
	if n.forEach == nil || !usesEach(n.expr) || sc == nil {
		v, d := n.expr.Value(s.ctx)
		if d.HasErrors() || !v.IsWhollyKnown() {
			return nil, false
		}
		return []cty.Value{v}, true
	}
	fv, d := n.forEach.Value(s.ctx)
	if d.HasErrors() || !fv.IsWhollyKnown() {
		return nil, false
	}
	eaches, err := lang.ExpandForEach(fv)
	if err != nil {
		return nil, false
	}
	out := make([]cty.Value, 0, len(eaches))
	for i := range eaches {
		v, d := n.expr.Value(sc.StepEvalContext(st, &eaches[i]))
		if d.HasErrors() || !v.IsWhollyKnown() {
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// resolveNamed turns n into targets, one per kind of object it names. At
// validate it reports that the kind is decided at plan; at plan it
// reports names that match nothing and values still unknown.
func (s *safety) resolveNamed(f *facts, n named) []target {
	what := fmt.Sprintf("%s of %s", n.attr, f.addr())
	if !s.opts.Plan {
		s.diags = append(s.diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Targets decided at plan",
			Detail: fmt.Sprintf("The %s names its objects by name (%s), and without the cluster nrun cannot tell what they are: Nomad clients (then NR-S006 wants them drained first), or Nomad or Consul servers (then NR-S001, NR-S002, NR-S004 and NR-S007 apply). nrun plan resolves the names against the cluster and runs the whole analysis again on what they turn out to be; a name that matches nothing is an error there. To have validate check them now, name them through a data source (data.nomad_nodes, data.nomad_servers, data.consul_servers).",
				what, s.source(n.expr.Range())),
			Subject: n.rng.Ptr(),
			Context: f.step.Body.Ptr(),
		})
		return nil
	}
	if s.opts.View == nil {
		s.errorf(f, n, "Targets cannot be resolved",
			"The %s names its objects by name, but nrun read no cluster for this runbook, so it cannot tell whether they are clients to drain or servers whose quorum is at stake. Add a nomad (or consul) block so nrun plan reads the cluster, or name the objects through a data source.", what)
		return nil
	}
	vals, ok := s.values(n, f.step)
	if !ok {
		s.errorf(f, n, "Targets not known at plan",
			"The %s depends on a value known only while applying (%s), so nrun cannot tell what it acts on and check it before anything runs. Name the objects with variables, locals or data sources, whose values are known when planning.", what, s.source(n.expr.Range()))
		return nil
	}
	var ms []member
	var unmatched []string
	for _, v := range vals {
		s.flatten(v, 0, &ms, &unmatched)
	}
	slices.Sort(unmatched)
	for _, name := range slices.Compact(unmatched) {
		s.errorf(f, n, "Name matches nothing in the cluster",
			"%q in the %s matches no Nomad server, Nomad client or Consul server in the cluster; check the name or remove it.", name, what)
	}
	byKind := map[lang.TargetKind][]string{}
	for _, m := range ms {
		byKind[m.kind] = append(byKind[m.kind], m.key)
	}
	var out []target
	for _, k := range []lang.TargetKind{lang.TargetNomadNode, lang.TargetNomadServer, lang.TargetConsulServer} {
		keys := byKind[k]
		if len(keys) == 0 {
			continue
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
		out = append(out, target{kind: k, set: "obj:" + strings.Join(keys, ","), members: keys})
	}
	return out
}

func (s *safety) errorf(f *facts, n named, summary, format string, args ...any) {
	s.diags = append(s.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  n.rng.Ptr(),
		Context:  f.step.Body.Ptr(),
	})
}

// resolveTarget resolves a step target given by name at plan. A target
// of unknown kind becomes the kind of what it names; one of a known kind
// (a drain over names) learns its members, so that it covers the same
// objects named in other forms. Targets of several kinds in one step are
// an error: each rule reads one kind per step.
func (s *safety) resolveTarget(f *facts, n named, perInstance bool) {
	known := f.tgt.kind != lang.TargetNone
	if known && (!s.opts.Plan || s.opts.View == nil) {
		return // a typed target over names: it covers nothing by name
	}
	if known {
		vals, ok := s.values(n, f.step)
		if !ok {
			return
		}
		var ms []member
		var unmatched []string
		for _, v := range vals {
			s.flatten(v, 0, &ms, &unmatched)
		}
		var keys []string
		for _, m := range ms {
			if m.kind == f.tgt.kind {
				keys = append(keys, m.key)
			}
		}
		if len(keys) > 0 {
			slices.Sort(keys)
			keys = slices.Compact(keys)
			f.tgt = target{kind: f.tgt.kind, set: "obj:" + strings.Join(keys, ","), members: keys, perInstance: perInstance}
		}
		return
	}
	ts := s.resolveNamed(f, n)
	switch len(ts) {
	case 0:
		return
	case 1:
		f.tgt = ts[0]
		f.tgt.perInstance = perInstance
	default:
		var kinds []string
		for _, t := range ts {
			kinds = append(kinds, string(t.kind))
		}
		s.errorf(f, n, "Targets of several kinds",
			"The target of %s names objects of several kinds (%s); the safety rules judge a step by the kind of its target. Split the step into one step per kind.", f.addr(), strings.Join(kinds, ", "))
	}
}

// setMembers returns the objects a target set holds at plan: its own
// members, or a data source's from the scope. nil when not known.
func (s *safety) setMembers(t target) map[string]bool {
	if !s.opts.Plan || s.opts.View == nil || t.set == "" {
		return nil
	}
	if m, ok := s.memberSets[t.set]; ok {
		return m
	}
	var keys []string
	switch {
	case t.members != nil:
		keys = t.members
	case strings.HasPrefix(t.set, "data."):
		if v, ok := s.dataValue(t); ok {
			var ms []member
			var unmatched []string
			s.flatten(v, 0, &ms, &unmatched)
			for _, m := range ms {
				if m.kind == t.kind {
					keys = append(keys, m.key)
				}
			}
		}
	}
	var out map[string]bool
	if len(keys) > 0 {
		out = make(map[string]bool, len(keys))
		for _, k := range keys {
			out[k] = true
		}
	}
	s.memberSets[t.set] = out
	return out
}

// dataValue is the live value of a data source target set: the attribute
// it uses (by_name when none), keyed when the set names one member.
func (s *safety) dataValue(t target) (cty.Value, bool) {
	base, key, keyed := strings.Cut(t.set, "[")
	parts := strings.Split(base, ".")
	if len(parts) != 3 {
		return cty.NilVal, false
	}
	attr := t.attr
	if attr == "" || keyed {
		attr = "by_name"
	}
	v := s.ctx.Variables["data"]
	for _, name := range []string{parts[1], parts[2], attr} {
		if v == cty.NilVal || !v.IsKnown() || v.IsNull() || !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
			return cty.NilVal, false
		}
		v = v.GetAttr(name)
	}
	if keyed {
		k := strings.Trim(strings.TrimSuffix(key, "]"), `"`)
		if !v.IsKnown() || v.IsNull() || !(v.Type().IsMapType() || v.Type().IsObjectType()) {
			return cty.NilVal, false
		}
		if v.Type().IsObjectType() {
			if !v.Type().HasAttribute(k) {
				return cty.NilVal, false
			}
			return v.GetAttr(k), true
		}
		if !v.HasIndex(cty.StringVal(k)).True() {
			return cty.NilVal, false
		}
		v = v.Index(cty.StringVal(k))
	}
	return v, true
}

// covers reports whether acting on a also acts on b: the same set, b one
// keyed member of a, or (at plan) every object of b is one of a's.
func (s *safety) covers(a, b target) bool {
	if a.covers(b) {
		return true
	}
	if a.kind != b.kind || (a.members == nil && b.members == nil) {
		return false
	}
	am, bm := s.setMembers(a), s.setMembers(b)
	if len(am) == 0 || len(bm) == 0 {
		return false
	}
	for k := range bm {
		if !am[k] {
			return false
		}
	}
	return true
}

// destroyedObjects is every object the runbook's terraform_apply steps
// destroy, by the key Summary counts objects with; known at plan only.
func (s *safety) destroyedObjects() []string {
	seen := map[string]bool{}
	var out []string
	s.forEachStep(func(f *facts) {
		for _, d := range f.destroys {
			for k := range s.setMembers(d) {
				if !seen[k] {
					seen[k] = true
					out = append(out, k)
				}
			}
		}
	})
	slices.Sort(out)
	return out
}
