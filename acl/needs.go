package acl

import (
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/lang"
)

// Need is one capability one part of a runbook needs.
type Need struct {
	// Who is the part: a step address ("step.drain"), a data source
	// address, or PlanRead for nrun's own read of the cluster.
	Who string
	// What says which call of it, e.g. `action "nomad_node_drain"`.
	What string
	Cap  lang.Capability
	// Range is where the part is declared; zero for PlanRead.
	Range hcl.Range
}

// PlanRead is the Who of what plan, apply and every wait read of the
// cluster whatever the steps: the servers (Raft view, members, autopilot),
// and the client nodes and their allocations when a step targets nodes.
const PlanRead = "cluster read"

// Needs lists every capability the runbook's steps (actions,
// preconditions, waits), data sources and nrun's own cluster read need,
// in declaration order. It evaluates nothing from a cluster: a check whose
// cluster argument is not a literal counts for both APIs.
func Needs(rb *lang.Runbook) []Need {
	if rb == nil {
		return nil
	}
	var out []Need
	add := func(who, what string, rng hcl.Range, cs []lang.Capability) {
		for _, c := range cs {
			out = append(out, Need{Who: who, What: what, Cap: c, Range: rng})
		}
	}
	for _, d := range rb.Data {
		if d != nil {
			add(d.Addr(), `data "`+string(d.Type)+`"`, d.DeclRange, d.Type.Reads())
		}
	}
	drains := false
	for _, st := range rb.AllSteps() {
		if st == nil {
			continue
		}
		who := st.Addr.String()
		kind := targetKind(st)
		if a := st.Action; a != nil {
			if spec := lang.ActionSpecs[a.Type]; spec != nil && spec.Target != lang.TargetNone {
				kind = spec.Target
			}
			if spec := lang.ActionSpecs[a.Type]; spec != nil {
				drains = drains || spec.Effect == lang.EffectDrain
				what := `action "` + a.Type + `"`
				add(who, what, a.DeclRange, spec.Reads)
				add(who, what, a.DeclRange, spec.Writes)
			}
		}
		for _, ch := range st.Preconditions {
			add(who, `precondition "`+ch.Name+`"`, rangeOf(ch), checkCaps(ch, kind, st.EffectiveTarget() != nil))
		}
		for _, ch := range st.Waits {
			add(who, `wait "`+ch.Name+`"`, rangeOf(ch), checkCaps(ch, kind, st.EffectiveTarget() != nil))
		}
	}
	nomad, consul := rb.Nomad != nil, rb.Consul != nil
	for _, n := range out {
		nomad = nomad || n.Cap.API == lang.APINomad
		consul = consul || n.Cap.API == lang.APIConsul
	}
	var read []Need
	// The cluster read always reads Nomad (planner.SnapshotOptionsFor),
	// Consul only when the runbook calls it.
	if nomad || consul {
		// Autopilot health (the Raft view without management), gossip
		// members; a drain's capacity needs every allocation of the
		// nodes, which Nomad filters by read-job.
		rules := []string{"operator:read", "node:read"}
		if drains {
			rules = append(rules, "namespace:*:read-job")
		}
		for _, r := range rules {
			read = append(read, Need{Who: PlanRead, What: "the Nomad servers and nodes", Cap: lang.Capability{API: lang.APINomad, Rule: r}})
		}
	}
	if consul {
		// Raft configuration and autopilot; members, catalog nodes and
		// their maintenance checks, which Consul filters by node:read.
		for _, r := range []string{"operator:read", "node:read"} {
			read = append(read, Need{Who: PlanRead, What: "the Consul servers and nodes", Cap: lang.Capability{API: lang.APIConsul, Rule: r}})
		}
	}
	return append(read, out...)
}

// targetKind is the kind of the step's target when its expression (or,
// for each.value, its for_each) reads data sources of one type only;
// TargetNone otherwise.
func targetKind(st *lang.Step) lang.TargetKind {
	var exprs []hcl.Expression
	for s := st; s != nil; s = s.Outer {
		if s.Target != nil {
			exprs = append(exprs, s.Target)
			break
		}
	}
	for s := st; s != nil; s = s.Outer {
		if s.ForEach != nil {
			exprs = append(exprs, s.ForEach)
			break
		}
	}
	kinds := map[lang.TargetKind]bool{}
	for _, e := range exprs {
		for _, tr := range e.Variables() {
			if tr.RootName() != "data" || len(tr) < 2 {
				continue
			}
			if a, ok := tr[1].(hcl.TraverseAttr); ok {
				switch lang.DataSourceType(a.Name).Cluster() {
				case lang.ClusterNomadServers:
					kinds[lang.TargetNomadServer] = true
				case lang.ClusterConsulServers:
					kinds[lang.TargetConsulServer] = true
				case lang.ClusterNomadClients:
					kinds[lang.TargetNomadNode] = true
				}
			}
		}
	}
	if len(kinds) == 1 {
		for k := range kinds {
			return k
		}
	}
	return lang.TargetNone
}

func rangeOf(ch *lang.Check) hcl.Range {
	if ch == nil {
		return hcl.Range{}
	}
	return ch.DeclRange
}

// checkCaps are the capabilities of a built-in check on the API of the
// cluster it reads: its literal cluster argument, else its target kind
// (the step action's), else its default. A cluster argument that is not a
// literal, or a target whose kind only the plan knows, leaves both APIs in. Writes count when the check's WriteAttr is
// set and not literally false.
func checkCaps(ch *lang.Check, stepKind lang.TargetKind, stepTarget bool) []lang.Capability {
	if ch == nil {
		return nil
	}
	spec := lang.CheckSpecs[ch.Name]
	if spec == nil {
		return nil // a custom condition reads only the runbook's scope
	}
	caps := append([]lang.Capability(nil), spec.Reads...)
	if spec.WriteAttr != "" {
		if a := ch.Args[spec.WriteAttr]; a != nil {
			if v, ok := literal(a.Expr); !ok || v.Type() != cty.Bool || v.True() {
				caps = append(caps, spec.Writes...)
			}
		}
	}
	api, known := lang.API(""), true
	arg := ""
	if a := ch.Args[spec.Cluster.Attr]; spec.Cluster.Attr != "" && a != nil {
		v, ok := literal(a.Expr)
		known = ok && v.Type() == cty.String
		if known {
			arg = v.AsString()
		}
	}
	if spec.Cluster.FromTarget && (ch.Args[spec.TargetAttr] != nil || stepKind == lang.TargetNone && stepTarget) {
		known = false // the target's kind is known only at plan
	}
	if known {
		switch spec.Cluster.Of(arg, stepKind) {
		case lang.ClusterConsulServers:
			api = lang.APIConsul
		case lang.ClusterNomadServers, lang.ClusterNomadClients:
			api = lang.APINomad
		}
	}
	if api == "" {
		return caps
	}
	var out []lang.Capability
	for _, c := range caps {
		if c.API == api {
			out = append(out, c)
		}
	}
	return out
}

// literal is the value of an expression that needs no variables.
func literal(e hcl.Expression) (cty.Value, bool) {
	if e == nil {
		return cty.NilVal, false
	}
	v, d := e.Value(nil)
	if d.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
		return cty.NilVal, false
	}
	return v, true
}

// whos lists the distinct Who of needs in first-seen order.
func whos(needs []Need) []string {
	seen := map[string]bool{}
	var out []string
	for _, n := range needs {
		if !seen[n.Who] {
			seen[n.Who] = true
			out = append(out, n.Who)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
