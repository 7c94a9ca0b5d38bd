package checks

import (
	"fmt"
	"sort"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/lang"
)

// Args are a check's arguments after evaluation. They are a typed struct,
// not a map of cty values, so each check reads exactly the fields it uses
// and the compiler catches a misspelt one; ArgsFromCty is the single place
// that knows the HCL names. The zero Args means "all defaults".
type Args struct {
	// Cluster is the cluster argument: "nomad", "consul" or "" (the
	// catalog's rule decides; see ClusterOf).
	Cluster string
	// Server and Node name another object than the step's target.
	Server *Target
	Node   *Target
	// Job and Namespace select a job (deployment_successful); an empty
	// Namespace matches the job in any namespace.
	Job       string
	Namespace string
	// Transfer is leader_not_target's transfer: the executor acts on it;
	// the check only words its reason accordingly.
	Transfer bool
	// Count is servers_healthy's count; nil when not set.
	Count *int
	// Enabled is consul_maintenance's expected state; nil means true.
	Enabled *bool
	// Version is servers_version's exact version (node_version's least).
	Version string
	// Min is servers_version's least version, by semantic version order.
	Min string
	// Since is when the step's action began, set for a wait whose check
	// asks (lang.WaitStrategy.Reregistered) after an action that restarts
	// the agent; zero for a precondition and after other actions. The
	// node checks then need a node record whose status changed at or after
	// that second: the agent registered again.
	Since time.Time
	// Prior is the node's record as read right before that action, nil
	// when it could not be read (a resume, an unreadable cluster) or the
	// check is about another node: a record newer than Prior proves the
	// agent registered again without comparing nrun's clock with the
	// servers', and Since is the fallback.
	Prior *PriorNode
	// URL and Status are http_ok's; Status 0 means 200.
	URL    string
	Status int
}

// ArgsFromCty converts a check block's evaluated arguments. timeout and
// interval belong to the block, not the check, and are ignored. A null
// value means "not set". It returns an error for an unknown argument name,
// an unknown value or a value of the wrong kind; lang's schema validation
// should have caught those already, so an error here is a bug upstream.
func ArgsFromCty(vals map[string]cty.Value) (Args, error) {
	var a Args
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		v := vals[name]
		if name == "timeout" || name == "interval" || v.IsNull() {
			continue
		}
		if !v.IsWhollyKnown() {
			return a, fmt.Errorf("argument %q is not known yet", name)
		}
		var err error
		switch name {
		case "cluster":
			a.Cluster, err = str(v)
		case "server":
			var t Target
			t, err = TargetFromValue(v)
			a.Server = &t
		case "node":
			var t Target
			t, err = TargetFromValue(v)
			a.Node = &t
		case "job":
			a.Job, err = str(v)
		case "transfer":
			a.Transfer, err = boolean(v)
		case "enabled":
			var b bool
			b, err = boolean(v)
			a.Enabled = &b
		case "count":
			var n int
			n, err = whole(v)
			a.Count = &n
		case "version":
			a.Version, err = str(v)
		case "min":
			a.Min, err = str(v)
		case "url":
			a.URL, err = str(v)
		case "status":
			a.Status, err = whole(v)
		default:
			return a, fmt.Errorf("checks do not take an argument named %q", name)
		}
		if err != nil {
			return a, fmt.Errorf("argument %q: %w", name, err)
		}
	}
	return a, nil
}

// PriorNode is what a node check needs of a node's record from before a
// restarting action: its status and when the servers last changed it.
type PriorNode struct {
	Status          string
	StatusUpdatedAt time.Time
}

// TargetFromValue converts a target or object argument: a server or node
// object (each.value of a for_each over a data source) or a string naming
// one by name or ID.
func TargetFromValue(v cty.Value) (Target, error) {
	if v.IsNull() || !v.IsWhollyKnown() {
		return Target{}, fmt.Errorf("the value is null or not known yet")
	}
	t := v.Type()
	if t == cty.String {
		s := v.AsString()
		return Target{ID: s, Name: s}, nil
	}
	if !t.IsObjectType() {
		return Target{}, fmt.Errorf("want a server or node object, or its name, got %s", t.FriendlyName())
	}
	get := func(attr string) string {
		if !t.HasAttribute(attr) {
			return ""
		}
		a := v.GetAttr(attr)
		if a.IsNull() || a.Type() != cty.String {
			return ""
		}
		return a.AsString()
	}
	out := Target{ID: get("id"), Name: get("name"), Address: get("address")}
	switch {
	case t.HasAttribute("node_pool") || t.HasAttribute("eligibility"):
		out.Kind = lang.TargetNomadNode
	case t.HasAttribute("raft_protocol"):
		out.Kind = lang.TargetNomadServer
	case t.HasAttribute("datacenter") && t.HasAttribute("voter"):
		out.Kind = lang.TargetConsulServer
	case t.HasAttribute("voter"):
		out.Kind = lang.TargetNomadServer
	}
	return out, nil
}

func str(v cty.Value) (string, error) {
	if v.Type() != cty.String {
		return "", fmt.Errorf("want a string, got %s", v.Type().FriendlyName())
	}
	return v.AsString(), nil
}

func boolean(v cty.Value) (bool, error) {
	if v.Type() != cty.Bool {
		return false, fmt.Errorf("want a bool, got %s", v.Type().FriendlyName())
	}
	return v.True(), nil
}

func whole(v cty.Value) (int, error) {
	if v.Type() != cty.Number {
		return 0, fmt.Errorf("want a number, got %s", v.Type().FriendlyName())
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() {
		return 0, fmt.Errorf("want a whole number, got %s", bf.Text('g', -1))
	}
	i, acc := bf.Int64()
	if acc != 0 || i < 0 || i > 1<<31-1 {
		return 0, fmt.Errorf("want a whole number from 0 to 2147483647, got %s", bf.Text('g', -1))
	}
	return int(i), nil
}
