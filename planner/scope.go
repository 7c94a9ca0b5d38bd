package planner

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// This file is the one way a runbook's evaluation scope gets cluster
// values: NewScope (and Resolve, which validates while it builds) fill the
// data sources from one cluster view, and ServerValue and NodeValue are
// the one mapping from cluster objects to HCL values. The plan, the safety
// analysis, the Terraform preview and the executor (its scope and the live
// each.value of a precondition) all go through here, so a data source has
// the same value on every path.

// NewScope builds the evaluation scope of one operation: lang's scope for
// the inputs (variables, locals), with every data source filled from view.
// A nil view leaves data sources unknown values of their types, as offline
// validation sees them. The diagnostics are the scope's and the data
// sources' (a filter that cannot be evaluated, a view without the part a
// data source reads).
func NewScope(rb *lang.Runbook, inputs map[string]cty.Value, view *cview.View) (*lang.Scope, hcl.Diagnostics) {
	sc, diags := lang.NewScope(rb, inputs)
	if view != nil {
		diags = append(diags, fillData(sc, view)...)
	}
	return sc, diags
}

// fillData sets every data source of sc's runbook from view. A nil view,
// or one without the part a data source reads, is an error for that data
// source, which stays unknown.
func fillData(sc *lang.Scope, view *cview.View) hcl.Diagnostics {
	rb := sc.Runbook
	filters, diags := evalFilters(rb, sc)
	for _, d := range rb.Data {
		f := filters[d.Addr()]
		var v cty.Value
		switch d.Type {
		case lang.DataNomadServers, lang.DataConsulServers:
			var raft *cview.RaftView
			elem := lang.ServerType
			system := "Nomad"
			if d.Type == lang.DataNomadServers {
				if view != nil && view.Nomad != nil {
					raft = &view.Nomad.Raft
				}
			} else {
				elem, system = lang.ConsulServerType, "Consul"
				if view != nil && view.Consul != nil {
					raft = &view.Consul.Raft
				}
			}
			if raft == nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "No " + system + " servers in the inventory",
					Detail:   fmt.Sprintf("%s reads the %s servers, but the cluster view has no %s part. Check that %s is reachable (or that the -inventory file was captured with it).", d.Addr(), system, system, system),
					Subject:  d.DeclRange.Ptr(),
				})
				continue
			}
			var members []cty.Value
			for i, s := range raft.Servers {
				if f.name != nil && !f.name.MatchString(s.Name) {
					continue
				}
				if f.status != "" && s.Status != f.status {
					continue
				}
				if f.datacenter != "" && s.Datacenter != f.datacenter {
					continue
				}
				members = append(members, serverValue(s, elem, raft.IsLeader(i)))
			}
			v = lang.ServersValue(elem, members)
		case lang.DataNomadNodes:
			if view == nil || view.Nomad == nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "No Nomad nodes in the inventory",
					Detail:   fmt.Sprintf("%s reads the Nomad client nodes, but the cluster view has no Nomad part. Check that Nomad is reachable (or that the -inventory file was captured with it).", d.Addr()),
					Subject:  d.DeclRange.Ptr(),
				})
				continue
			}
			nodes := view.Nomad.NodesMatching(f.node)
			members := make([]cty.Value, 0, len(nodes))
			for _, nd := range nodes {
				members = append(members, NodeValue(nd))
			}
			v = lang.NodesValue(members)
		default:
			continue
		}
		sc.Data[string(d.Type)+"."+d.Name] = v
	}
	sc.Refresh()
	return diags
}

// ServerValue is server s of raft as a runbook sees it: an object of elem,
// lang.ServerType (Nomad) or lang.ConsulServerType. Its leader attribute
// follows raft.Leader, the one leader rule.
func ServerValue(raft cview.RaftView, s cview.Server, elem cty.Type) cty.Value {
	l, ok := raft.Leader()
	return serverValue(s, elem, ok && l.ID == s.ID && l.Name == s.Name && l.Address == s.Address)
}

func serverValue(s cview.Server, elem cty.Type, leader bool) cty.Value {
	attrs := map[string]cty.Value{
		"id":      cty.StringVal(s.ID),
		"name":    cty.StringVal(s.Name),
		"address": cty.StringVal(s.Address),
		"host":    cty.StringVal(s.Host),
		"leader":  cty.BoolVal(leader),
		"voter":   cty.BoolVal(s.Voter),
		"version": cty.StringVal(s.Version),
		"status":  cty.StringVal(s.Status),
	}
	if elem.HasAttribute("raft_protocol") {
		attrs["raft_protocol"] = cty.StringVal(s.RaftProtocol)
	} else {
		attrs["datacenter"] = cty.StringVal(s.Datacenter)
	}
	return cty.ObjectVal(attrs)
}

// NodeValue is a Nomad client node as a runbook sees it: a lang.NodeType
// object.
func NodeValue(n cview.Node) cty.Value {
	meta := cty.MapValEmpty(cty.String)
	if len(n.Meta) > 0 {
		m := make(map[string]cty.Value, len(n.Meta))
		for k, v := range n.Meta {
			m[k] = cty.StringVal(v)
		}
		meta = cty.MapVal(m)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"id":          cty.StringVal(n.ID),
		"name":        cty.StringVal(n.Name),
		"address":     cty.StringVal(n.Address),
		"host":        cty.StringVal(n.Host()),
		"datacenter":  cty.StringVal(n.Datacenter),
		"node_pool":   cty.StringVal(n.NodePool),
		"node_class":  cty.StringVal(n.NodeClass),
		"meta":        meta,
		"status":      cty.StringVal(n.Status),
		"eligibility": cty.StringVal(n.Eligibility),
		"drain":       cty.BoolVal(n.Drain),
		"version":     cty.StringVal(n.Version),
	})
}
