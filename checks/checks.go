package checks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// Target is the object a step instance acts on, as far as checks care.
type Target struct {
	Kind    lang.TargetKind
	ID      string
	Name    string
	Address string
}

// label is how a target appears in results: the name the runbook uses.
func (t Target) label() string {
	switch {
	case t.Name != "":
		return t.Name
	case t.ID != "":
		return t.ID
	default:
		return t.Address
	}
}

func (t Target) isServer() bool {
	return t.Kind == lang.TargetNomadServer || t.Kind == lang.TargetConsulServer
}

// Result is the outcome of one check.
type Result struct {
	Name string
	OK   bool
	// Observed is what the check saw, in a phrase.
	Observed string
	// Reason says why the check fails and what would make it pass; empty
	// when OK.
	Reason string
}

// String renders the result on one line:
//
//	quorum_ok: 3/3 voters healthy, failure tolerance 1, target s2 is a voter -> tolerance after disruption 0: ok
//	node_drained: c1: last drain complete, 2 allocations still running (0 system): not ok: ...
func (r Result) String() string {
	var b strings.Builder
	b.WriteString(r.Name)
	b.WriteString(": ")
	if r.Observed != "" {
		b.WriteString(r.Observed)
		b.WriteString(": ")
	}
	if r.OK {
		b.WriteString("ok")
		return b.String()
	}
	b.WriteString("not ok")
	if r.Reason != "" {
		b.WriteString(": ")
		b.WriteString(r.Reason)
	}
	return b.String()
}

type evalFunc func(a Args, t Target, v *cluster.View) Result

// pure holds every check that is a function of the view alone. http_ok is
// not here; see EvalHTTP.
var pure = map[string]evalFunc{
	"quorum_ok":                   quorumOK,
	"leader_not_target":           leaderNotTarget,
	"server_healthy":              serverHealthy,
	"servers_healthy":             serversHealthy,
	"raft_peer_present":           func(a Args, t Target, v *cluster.View) Result { return raftPeer(a, t, v, true) },
	"raft_peer_absent":            func(a Args, t Target, v *cluster.View) Result { return raftPeer(a, t, v, false) },
	"node_ready":                  nodeReady,
	"node_ineligible":             nodeIneligible,
	"node_drained":                nodeDrained,
	"consul_maintenance":          consulMaintenance,
	"deployment_successful":       deploymentSuccessful,
	"deployment_canaries_healthy": deploymentCanariesHealthy,
	"servers_version":             serversVersion,
}

// HTTPCheck is the one check that is not a function of the view.
const HTTPCheck = "http_ok"

// Names returns every check name, http_ok included, sorted.
func Names() []string {
	names := []string{HTTPCheck}
	for n := range pure {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Pure reports whether the check is a function of the view alone.
func Pure(name string) bool { _, ok := pure[name]; return ok }

// Eval evaluates a pure check. It never panics and never touches the
// network: an unknown name, http_ok (use EvalHTTP), a nil view or a view
// without the cluster the check needs all give a failing Result that says
// so.
func Eval(name string, args Args, target Target, v *cluster.View) Result {
	f, ok := pure[name]
	switch {
	case name == HTTPCheck:
		return Result{Name: name, Reason: "http_ok probes a URL and is evaluated with EvalHTTP, not against a view"}
	case !ok:
		return Result{Name: name, Reason: fmt.Sprintf("there is no check named %q", name)}
	case v == nil:
		return Result{Name: name, Reason: "no cluster view to evaluate against"}
	}
	r := f(args, target, v)
	r.Name = name
	return r
}

// raftOf picks the cluster a server check looks at: the cluster argument,
// else the kind of the server argument or target, else Nomad.
func raftOf(a Args, t Target, v *cluster.View) (cluster.RaftView, string, *Result) {
	which := a.Cluster
	if which != "" && which != "nomad" && which != "consul" {
		return cluster.RaftView{}, which, &Result{Reason: fmt.Sprintf("cluster is %q; it must be \"nomad\" or \"consul\"", which)}
	}
	if which == "" {
		switch {
		case a.Server != nil && a.Server.Kind == lang.TargetConsulServer:
			which = "consul"
		case a.Server == nil && t.Kind == lang.TargetConsulServer:
			which = "consul"
		default:
			which = "nomad"
		}
	}
	if which == "consul" {
		if v.Consul == nil {
			return cluster.RaftView{}, which, &Result{Reason: "the cluster view has no Consul data; add a consul block or set CONSUL_HTTP_ADDR so nrun reads Consul"}
		}
		return v.Consul.Raft, which, nil
	}
	if v.Nomad == nil {
		return cluster.RaftView{}, which, &Result{Reason: "the cluster view has no Nomad data"}
	}
	return v.Nomad.Raft, which, nil
}

// serverTarget is the server a check is about: the server argument, else
// the step's target when it is a server.
func serverTarget(a Args, t Target) (Target, bool) {
	if a.Server != nil {
		return *a.Server, true
	}
	if t.isServer() {
		return t, true
	}
	return Target{}, false
}

// findServer looks a target up by ID, then name, then address.
func findServer(r cluster.RaftView, t Target) (cluster.Server, bool) {
	for _, ref := range []string{t.ID, t.Name, t.Address} {
		if s, ok := r.Find(ref); ok {
			return s, true
		}
	}
	return cluster.Server{}, false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
