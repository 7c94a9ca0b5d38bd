package executor

import (
	"fmt"
	"regexp"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

// NewScope builds the evaluation scope of a run: variables and locals from
// the inputs, data sources from the view (the same inventory rules as the
// planner: every filter must match, no status filter means every status).
// Action and check arguments are evaluated in it at run time.
func NewScope(rb *lang.Runbook, inputs map[string]cty.Value, view *cluster.View) (*lang.Scope, hcl.Diagnostics) {
	sc, diags := lang.NewScope(rb, inputs)
	if sc == nil {
		return nil, diags
	}
	for _, d := range rb.Data {
		v, err := dataValue(sc, d, view)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot read data source",
				Detail: fmt.Sprintf("%s: %v.", d.Addr(), err), Subject: d.DeclRange.Ptr()})
			continue
		}
		sc.Data[string(d.Type)+"."+d.Name] = v
	}
	sc.Refresh()
	return sc, diags
}

func filterString(sc *lang.Scope, d *lang.DataSource, name string) (string, error) {
	a, ok := d.Filters[name]
	if !ok {
		return "", nil
	}
	v, diags := a.Expr.Value(sc.EvalContext(nil))
	if diags.HasErrors() {
		return "", diags
	}
	if v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return "", fmt.Errorf("filter %s is not a known string", name)
	}
	return v.AsString(), nil
}

func dataValue(sc *lang.Scope, d *lang.DataSource, view *cluster.View) (cty.Value, error) {
	nameRE, err := filterString(sc, d, "name")
	if err != nil {
		return cty.NilVal, err
	}
	var re *regexp.Regexp
	if nameRE != "" {
		if re, err = regexp.Compile(nameRE); err != nil {
			return cty.NilVal, err
		}
	}
	status, err := filterString(sc, d, "status")
	if err != nil {
		return cty.NilVal, err
	}
	switch d.Type {
	case lang.DataNomadServers, lang.DataConsulServers:
		var raft cluster.RaftView
		elem := lang.ServerType
		if d.Type == lang.DataConsulServers {
			elem = lang.ConsulServerType
			if view == nil || view.Consul == nil {
				return cty.NilVal, fmt.Errorf("the cluster view has no Consul data")
			}
			raft = view.Consul.Raft
		} else {
			if view == nil || view.Nomad == nil {
				return cty.NilVal, fmt.Errorf("the cluster view has no Nomad data")
			}
			raft = view.Nomad.Raft
		}
		dc, err := filterString(sc, d, "datacenter")
		if err != nil {
			return cty.NilVal, err
		}
		leader, _ := raft.Leader()
		var vals []cty.Value
		for _, s := range raft.Servers {
			if re != nil && !re.MatchString(s.Name) || status != "" && s.Status != status || dc != "" && s.Datacenter != dc {
				continue
			}
			vals = append(vals, ServerValue(s, elem, leader))
		}
		return lang.ServersValue(elem, vals), nil
	case lang.DataNomadNodes:
		if view == nil || view.Nomad == nil {
			return cty.NilVal, fmt.Errorf("the cluster view has no Nomad data")
		}
		f := cluster.NodeFilter{Name: re, Status: status}
		if f.NodePool, err = filterString(sc, d, "node_pool"); err != nil {
			return cty.NilVal, err
		}
		if f.Datacenter, err = filterString(sc, d, "datacenter"); err != nil {
			return cty.NilVal, err
		}
		if f.NodeClass, err = filterString(sc, d, "node_class"); err != nil {
			return cty.NilVal, err
		}
		if a, ok := d.Filters["meta"]; ok {
			v, diags := a.Expr.Value(sc.EvalContext(nil))
			if diags.HasErrors() {
				return cty.NilVal, diags
			}
			f.Meta = map[string]string{}
			for it := v.ElementIterator(); it.Next(); {
				k, e := it.Element()
				if e.Type() == cty.String && e.IsKnown() && !e.IsNull() {
					f.Meta[k.AsString()] = e.AsString()
				}
			}
		}
		var vals []cty.Value
		for _, n := range view.Nomad.NodesMatching(f) {
			vals = append(vals, NodeValue(n))
		}
		return lang.NodesValue(vals), nil
	}
	return cty.NilVal, fmt.Errorf("unknown data source type %q", d.Type)
}

// ServerValue is a server as a runbook sees it.
func ServerValue(s cluster.Server, elem cty.Type, leader cluster.Server) cty.Value {
	m := map[string]cty.Value{
		"id":      cty.StringVal(s.ID),
		"name":    cty.StringVal(s.Name),
		"address": cty.StringVal(s.Address),
		"host":    cty.StringVal(s.Host),
		"leader":  cty.BoolVal(s.Leader || (leader.Address != "" && leader.Address == s.Address)),
		"voter":   cty.BoolVal(s.Voter),
		"version": cty.StringVal(s.Version),
		"status":  cty.StringVal(s.Status),
	}
	if elem.Equals(lang.ConsulServerType) {
		m["datacenter"] = cty.StringVal(s.Datacenter)
	} else {
		m["raft_protocol"] = cty.StringVal(s.RaftProtocol)
	}
	return cty.ObjectVal(m)
}

// NodeValue is a client node as a runbook sees it.
func NodeValue(n cluster.Node) cty.Value {
	meta := cty.MapValEmpty(cty.String)
	if len(n.Meta) > 0 {
		m := map[string]cty.Value{}
		for k, v := range n.Meta {
			m[k] = cty.StringVal(v)
		}
		meta = cty.MapVal(m)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"id": cty.StringVal(n.ID), "name": cty.StringVal(n.Name), "address": cty.StringVal(n.Address),
		"datacenter": cty.StringVal(n.Datacenter), "node_pool": cty.StringVal(n.NodePool),
		"node_class": cty.StringVal(n.NodeClass), "meta": meta, "status": cty.StringVal(n.Status),
		"eligibility": cty.StringVal(n.Eligibility), "drain": cty.BoolVal(n.Drain), "version": cty.StringVal(n.Version),
	})
}

// eachOf rebuilds each of a planned instance from its cty JSON.
func eachOf(in *planner.Instance) (*lang.Each, error) {
	if in.Each == nil {
		if in.Addr.Key.Valid {
			k := cty.StringVal(in.Addr.Key.Value)
			return &lang.Each{Key: k, Value: k}, nil
		}
		return nil, nil
	}
	ty, err := ctyjson.UnmarshalType(in.Each.Type)
	if err != nil {
		return nil, fmt.Errorf("%s: each.value type: %w", in.Addr, err)
	}
	v, err := ctyjson.Unmarshal(in.Each.Value, ty)
	if err != nil {
		return nil, fmt.Errorf("%s: each.value: %w", in.Addr, err)
	}
	return &lang.Each{Key: cty.StringVal(in.Addr.Key.Value), Value: v}, nil
}
