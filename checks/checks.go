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

// pure holds the evaluator of every check that is a function of the view
// alone, keyed by its catalog entry. http_ok is not here; see EvalHTTP.
var pure = map[*lang.CheckSpec]evalFunc{}

// evaluates registers f as the evaluator of the catalog's check name. It
// panics at init on a name the catalog does not have, or on a second
// evaluator.
func evaluates(name string, f evalFunc) {
	spec := lang.CheckSpecs[name]
	if spec == nil {
		panic(fmt.Sprintf("checks: check %q is not in the catalog", name))
	}
	if _, dup := pure[spec]; dup {
		panic(fmt.Sprintf("checks: check %q has two evaluators", name))
	}
	pure[spec] = f
}

func init() {
	evaluates(lang.CheckQuorumOk, quorumOK)
	evaluates(lang.CheckLeaderNotTarget, leaderNotTarget)
	evaluates(lang.CheckServerHealthy, serverHealthy)
	evaluates(lang.CheckServersHealthy, serversHealthy)
	evaluates(lang.CheckRaftPeerPresent, func(a Args, t Target, v *cluster.View) Result { return raftPeer(a, t, v, true) })
	evaluates(lang.CheckRaftPeerAbsent, func(a Args, t Target, v *cluster.View) Result { return raftPeer(a, t, v, false) })
	evaluates(lang.CheckNodeReady, nodeReady)
	evaluates(lang.CheckNodeIneligible, nodeIneligible)
	evaluates(lang.CheckNodeDrained, nodeDrained)
	evaluates(lang.CheckConsulMaintenance, consulMaintenance)
	evaluates(lang.CheckDeploymentSuccessful, deploymentSuccessful)
	evaluates(lang.CheckDeploymentCanariesHealthy, deploymentCanariesHealthy)
	evaluates(lang.CheckServersVersion, serversVersion)
}

// HTTPCheck is the one check that is not a function of the view: its
// catalog entry waits by probing (lang.WaitProbe).
const HTTPCheck = lang.CheckHttpOk

// Names returns every check name, http_ok included, sorted.
func Names() []string {
	names := []string{HTTPCheck}
	for spec := range pure {
		names = append(names, spec.Name)
	}
	sort.Strings(names)
	return names
}

// Pure reports whether the check is a function of the view alone.
func Pure(name string) bool { _, ok := pure[lang.CheckSpecs[name]]; return ok }

// Eval evaluates a pure check. It never panics and never touches the
// network: an unknown name, http_ok (use EvalHTTP), a nil view or a view
// without the cluster the check needs all give a failing Result that says
// so. The cluster a server check reads is the catalog's rule
// (lang.ClusterRule) applied to its cluster argument and the kind of its
// server argument, else of the step's target: the same rule the safety
// analysis and the documentation use.
func Eval(name string, args Args, target Target, v *cluster.View) Result {
	spec := lang.CheckSpecs[name]
	f, ok := pure[spec]
	switch {
	case spec != nil && spec.Wait.Kind == lang.WaitProbe:
		return Result{Name: name, Reason: name + " probes a URL and is evaluated with EvalHTTP, not against a view"}
	case !ok:
		return Result{Name: name, Reason: fmt.Sprintf("there is no check named %q", name)}
	case v == nil:
		return Result{Name: name, Reason: "no cluster view to evaluate against"}
	case args.Cluster != "" && args.Cluster != "nomad" && args.Cluster != "consul":
		return Result{Name: name, Reason: fmt.Sprintf("cluster is %q; it must be \"nomad\" or \"consul\"", args.Cluster)}
	}
	args.Cluster = lang.ClusterArgName(ClusterOf(spec, args, target))
	r := f(args, target, v)
	r.Name = name
	return r
}

// ClusterOf is the cluster the check of catalog entry spec reads, with
// these arguments and target.
func ClusterOf(spec *lang.CheckSpec, a Args, t Target) lang.Cluster {
	kind := t.Kind
	if a.Server != nil {
		kind = a.Server.Kind
	}
	return spec.Cluster.Of(a.Cluster, kind)
}

// raftOf is the Raft cluster a server check reads: Eval has set
// a.Cluster from the catalog's rule ("consul" for Consul's servers).
func raftOf(a Args, _ Target, v *cluster.View) (cluster.RaftView, string, *Result) {
	if a.Cluster == "consul" {
		if v.Consul == nil {
			return cluster.RaftView{}, a.Cluster, &Result{Reason: "the cluster view has no Consul data; add a consul block or set CONSUL_HTTP_ADDR so nrun reads Consul"}
		}
		return v.Consul.Raft, a.Cluster, nil
	}
	if v.Nomad == nil {
		return cluster.RaftView{}, "nomad", &Result{Reason: "the cluster view has no Nomad data"}
	}
	return v.Nomad.Raft, "nomad", nil
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
