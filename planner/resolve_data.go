package planner

import (
	"fmt"
	"regexp"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// dataFilter is a data source's filters after evaluation.
type dataFilter struct {
	name       *regexp.Regexp
	status     string
	datacenter string
	node       cview.NodeFilter
}

// evalFilters evaluates the filters of every data source with the scope's
// variables and locals (data sources may not refer to each other).
func evalFilters(rb *lang.Runbook, sc *lang.Scope) (map[string]dataFilter, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	out := map[string]dataFilter{}
	if rb == nil || sc == nil {
		return out, nil
	}
	ctx := sc.EvalContext(nil)
	for _, d := range rb.Data {
		var f dataFilter
		for _, name := range sortedKeys(d.Filters) {
			attr := d.Filters[name]
			v, dd := attr.Expr.Value(ctx)
			diags = append(diags, dd...)
			if dd.HasErrors() || v.IsNull() {
				continue
			}
			if !v.IsWhollyKnown() {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Data source filter not known at plan time",
					Detail:   fmt.Sprintf("The %s filter of %s depends on a value that is not known before the inventory is read. Filters may use variables and locals only; give the variable a value with -var or -var-file.", name, d.Addr()),
					Subject:  attr.Expr.Range().Ptr(),
				})
				continue
			}
			switch name {
			case "name":
				if v.Type() != cty.String {
					continue
				}
				re, err := regexp.Compile(v.AsString())
				if err != nil {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Invalid name filter",
						Detail:   fmt.Sprintf("The name filter of %s is not a valid regular expression: %v. Write an RE2 expression such as \"^web-\".", d.Addr(), err),
						Subject:  attr.Expr.Range().Ptr(),
					})
					continue
				}
				f.name = re
				f.node.Name = re
			case "status", "datacenter", "node_pool", "node_class":
				if v.Type() != cty.String {
					continue
				}
				s := v.AsString()
				switch name {
				case "status":
					f.status, f.node.Status = s, s
				case "datacenter":
					f.datacenter, f.node.Datacenter = s, s
				case "node_pool":
					f.node.NodePool = s
				case "node_class":
					f.node.NodeClass = s
				}
			case "meta":
				if !(v.Type().IsMapType() || v.Type().IsObjectType()) {
					continue
				}
				f.node.Meta = map[string]string{}
				for it := v.ElementIterator(); it.Next(); {
					k, ev := it.Element()
					if ev.Type() == cty.String && !ev.IsNull() {
						f.node.Meta[k.AsString()] = ev.AsString()
					}
				}
			}
		}
		out[d.Addr()] = f
	}
	return out, diags
}

// SnapshotOptionsFor says what a snapshot must read to plan rb with these
// inputs: Nomad always; Consul when the runbook has a consul block, a
// consul_servers data source or a Consul action or check; client nodes
// when it has a nomad_nodes data source (only those matching its filters,
// as long as every node action and check acts on a node from such a data
// source) or a node action or check naming a node any other way (then
// every node); the jobs its actions and
// checks name literally (after variables and locals). One snapshot then
// serves every data source and step, so the number of API requests does
// not grow with the number of steps.
func SnapshotOptionsFor(rb *lang.Runbook, inputs map[string]cty.Value) (cview.SnapshotOptions, hcl.Diagnostics) {
	opts := cview.SnapshotOptions{Nomad: true}
	if rb == nil {
		return opts, nil
	}
	sc, diags := lang.NewScope(rb, inputs)
	filters, fd := evalFilters(rb, sc)
	diags = append(diags, fd...)
	if rb.Consul != nil {
		opts.Consul = true
	}
	nodeData := false
	for _, d := range rb.Data {
		switch d.Type.Cluster() {
		case lang.ClusterConsulServers:
			opts.Consul = true
		case lang.ClusterNomadClients:
			nodeData = true
			opts.NodeFilters = append(opts.NodeFilters, filters[d.Addr()].node)
		}
	}
	allNodes, drains := false, false
	jobs := map[string]cview.JobRef{}
	ctx := sc.EvalContext(nil)
	addJob := func(e hcl.Expression, ns hcl.Expression) {
		if e == nil {
			return
		}
		v, d := e.Value(ctx)
		if d.HasErrors() || !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
			return
		}
		ref := cview.JobRef{ID: v.AsString()}
		if ns != nil {
			if nv, d := ns.Value(ctx); !d.HasErrors() && nv.IsKnown() && !nv.IsNull() && nv.Type() == cty.String {
				ref.Namespace = nv.AsString()
			}
		}
		jobs[ref.Namespace+"/"+ref.ID] = ref
	}
	for _, st := range rb.AllSteps() {
		if a := st.Action; a != nil {
			if spec := lang.ActionSpecs[a.Type]; spec != nil {
				drains = drains || spec.Effect == lang.EffectDrain
				switch spec.Target {
				case lang.TargetNomadNode:
					if !nodeRefCovered(st, exprOf(a.Args[spec.TargetAttr])) {
						allNodes = true
					}
				case lang.TargetConsulServer:
					opts.Consul = true
				}
			}
			if j := a.Args["job"]; j != nil {
				addJob(j.Expr, exprOf(a.Args["namespace"]))
			}
		}
		for _, c := range append(append([]*lang.Check(nil), st.Preconditions...), st.Waits...) {
			if spec := lang.CheckSpecs[c.Name]; spec != nil && spec.Target == lang.TargetNomadNode && !nodeRefCovered(st, exprOf(c.Args[spec.TargetAttr])) {
				allNodes = true
			}
			if spec := lang.CheckSpecs[c.Name]; spec != nil && spec.Cluster.Default == lang.ClusterConsulServers {
				opts.Consul = true
			}
			if a := c.Args["cluster"]; a != nil {
				if v, d := a.Expr.Value(ctx); !d.HasErrors() && v.IsKnown() && v.Type() == cty.String && !v.IsNull() && v.AsString() == "consul" {
					opts.Consul = true
				}
			}
			if j := c.Args["job"]; j != nil {
				addJob(j.Expr, exprOf(c.Args["namespace"]))
			}
		}
	}
	if drains {
		// NR-S011 adds up the free resources of the nodes a drained
		// node's work may move to: its own pool, and every pool for jobs
		// in node pool "all". So a runbook that drains reads every node.
		allNodes = true
	}
	switch {
	case allNodes:
		opts.Nodes, opts.NodeFilters = true, nil
	case nodeData:
		opts.Nodes = true
	}
	for _, k := range sortedKeys(jobs) {
		opts.Jobs = append(opts.Jobs, jobs[k])
	}
	return opts, diags
}

// nodeRefCovered reports whether the node an action or check of st acts on
// (e, or the step's target when e is nil) can only be one a nomad_nodes
// data source reads: the expression uses data.nomad_nodes, or each of a
// for_each over it, and nothing else. Otherwise (a node named by a string,
// a variable) the snapshot must read every node.
func nodeRefCovered(st *lang.Step, e hcl.Expression) bool {
	top := st
	if st.Outer != nil {
		top = st.Outer
	}
	if e == nil {
		e = st.Target
		if e == nil {
			e = top.Target
		}
	}
	if e == nil {
		return false
	}
	vars := e.Variables()
	if len(vars) == 0 {
		return false
	}
	for _, tr := range vars {
		switch tr.RootName() {
		case "data":
			if !usesNodeData(tr) {
				return false
			}
		case "each":
			if top.ForEach == nil {
				return false
			}
			for _, ftr := range top.ForEach.Variables() {
				if !usesNodeData(ftr) {
					return false
				}
			}
		default:
			return false
		}
	}
	return true
}

func usesNodeData(tr hcl.Traversal) bool {
	if tr.RootName() != "data" || len(tr) < 2 {
		return false
	}
	a, ok := tr[1].(hcl.TraverseAttr)
	return ok && a.Name == string(lang.DataNomadNodes)
}

func exprOf(a *hcl.Attribute) hcl.Expression {
	if a == nil {
		return nil
	}
	return a.Expr
}
