package lang

import (
	"fmt"
	"time"
)

// The catalog: every action and check is declared once, in its own file
// (catalog_action_NAME.go, catalog_check_NAME.go), with every fact the
// rest of nrun needs about it: its schema, the cluster it belongs to, the
// kinds of target it takes, its effect (whose plan glyph is in
// effects.go), the API capabilities it reads and writes with, how resume
// probes it, how a wait on it waits, what plan previews of it. lang builds
// its schemas from the catalog; the planner's safety analysis and
// previews, the executor's dispatch, the checks' cluster and the views'
// glyphs read these facts, and nothing outside the catalog files decides
// on an entry's name (TestNoNameSwitches). A data source's cluster is in
// catalog_data.go, its filters in types.data.go.
//
// Adding an action is its catalog file plus its implementation in the
// executor, registered against the entry with implementAction (and, for
// a new lang.Probe, that strategy with implementProbe). Adding a check is
// its catalog file plus its evaluator in package checks, registered with
// evaluates. TestCatalogComplete (executor) and
// TestEvaluatorsCompleteAgainstCatalog (checks) hold every entry to
// exactly one implementation; a new fact a consumer needs is a field
// here, not a comparison with a name. LANGUAGE.md's catalog sections are
// generated: go test ./lang -run TestLanguageDoc -update.

// Cluster is the part of the estate an action or check belongs to: what
// it disrupts, or what it reads. A precondition or wait counts toward a
// safety rule only when its cluster is the cluster the step disrupts.
type Cluster string

// Clusters.
const (
	ClusterNone          Cluster = ""               // local, or the whole estate (terraform)
	ClusterNomadServers  Cluster = "nomad_servers"  // the Nomad servers' Raft
	ClusterNomadClients  Cluster = "nomad_clients"  // Nomad client nodes and the jobs on them
	ClusterConsulServers Cluster = "consul_servers" // the Consul servers' Raft
)

// ClusterOfTarget is the cluster a target of kind k belongs to.
func ClusterOfTarget(k TargetKind) Cluster {
	switch k {
	case TargetNomadServer:
		return ClusterNomadServers
	case TargetNomadNode, TargetJob:
		return ClusterNomadClients
	case TargetConsulServer:
		return ClusterConsulServers
	}
	return ClusterNone
}

// Noun is how a cluster is named in diagnostics.
func (c Cluster) Noun() string {
	switch c {
	case ClusterNomadServers:
		return "Nomad"
	case ClusterNomadClients:
		return "Nomad client"
	case ClusterConsulServers:
		return "Consul"
	}
	return "no"
}

// API is a cluster HTTP API that has ACLs.
type API string

// APIs.
const (
	APINomad  API = "nomad"
	APIConsul API = "consul"
)

// Capability is one ACL capability an entry needs on an API, as the
// "ACL Required" column of the Nomad and Consul HTTP API docs names it:
// a policy rule such as "node:write", "operator:read",
// "namespace:submit-job" (in the runbook's namespace),
// "namespace:*:read-job" (in every namespace: a node's allocations are
// read from all of them, and Nomad leaves out, without an error, those of
// namespaces the token cannot read-job), or "management" (a management
// token only). Package acl builds the least-privilege policy of a runbook
// from these lists and checks a token against them.
//
// Nomad's Raft configuration (/v1/operator/raft/configuration) needs a
// management token; nrun reads the Nomad servers from autopilot health
// (operator:read) when it is refused, so reading servers needs only
// operator:read and node:read (gossip members).
type Capability struct {
	API  API
	Rule string
}

func (c Capability) String() string { return string(c.API) + " " + c.Rule }

func nomadCap(rules ...string) []Capability  { return caps(APINomad, rules) }
func consulCap(rules ...string) []Capability { return caps(APIConsul, rules) }

func caps(api API, rules []string) []Capability {
	out := make([]Capability, len(rules))
	for i, r := range rules {
		out[i] = Capability{API: api, Rule: r}
	}
	return out
}

// Probe says how resume tells whether an action whose intent was
// journalled without its completion took effect.
type Probe string

// Probes.
const (
	// ProbeRepeat: running the action again is harmless (it reads first
	// and sends nothing when its effect is in place, or it has none).
	ProbeRepeat Probe = "repeat"
	// ProbeCheckCommand: the exec's check command tells; without one the
	// operator is asked.
	ProbeCheckCommand Probe = "check-command"
	// ProbeTerraformPlan: a terraform plan of the directory tells.
	ProbeTerraformPlan Probe = "terraform-plan"
	// ProbeNodeEligibility: the node's eligibility is read.
	ProbeNodeEligibility Probe = "node-eligibility"
	// ProbeRaftPeer: the server's presence in the Raft peer set is read.
	ProbeRaftPeer Probe = "raft-peer"
	// ProbeGossipMember: the server's gossip status is read.
	ProbeGossipMember Probe = "gossip-member"
	// ProbeJobInPlace: the job is compared with the jobspec.
	ProbeJobInPlace Probe = "job-in-place"
	// ProbeAsk: nothing the cluster shows can tell, and repeating the
	// action is not harmless, so resume stops and asks the operator
	// (-assume-done or -redo). A snapshot restore: the restored state
	// carries no mark of the restore, and restoring twice rolls back
	// whatever was written in between.
	ProbeAsk Probe = "ask"
)

// WaitKind is how a wait on a check learns that the cluster changed.
type WaitKind string

// Wait kinds.
const (
	// WaitPoll re-reads the cluster view with backoff up to the interval
	// (autopilot and the Raft configuration have no blocking queries).
	WaitPoll WaitKind = "poll"
	// WaitNode follows the node with blocking queries.
	WaitNode WaitKind = "blocking-node"
	// WaitNodeAllocs follows the node and its allocations with blocking
	// queries.
	WaitNodeAllocs WaitKind = "blocking-node-allocs"
	// WaitDeployment follows the job's deployment with blocking queries
	// and fails at once when the deployment fails.
	WaitDeployment WaitKind = "blocking-deployment"
	// WaitConsulNode follows the Consul node's health checks with
	// blocking queries.
	WaitConsulNode WaitKind = "blocking-consul-node"
	// WaitProbe polls a probe outside the cluster view (http_ok).
	WaitProbe WaitKind = "probe"
)

// WaitStrategy is how a wait on a check waits.
type WaitStrategy struct {
	Kind WaitKind
	// Interval is the poll interval when the wait sets none.
	Interval time.Duration
	// Settle: the check reads autopilot, which can report the figures of
	// before a restart for a second or two, so it must hold on every read
	// for the executor's settle time.
	Settle bool
	// Stable: the check holds only once autopilot counts the server stable
	// (server_stabilization_time) and is seen hearing from it.
	Stable bool
	// Canaries (WaitDeployment): the wait holds once the deployment's
	// canaries are healthy and wait for promotion, not only once the
	// deployment is done.
	Canaries bool
	// Reregistered (node checks): after an action of the step whose
	// effect Restarts, the wait holds only on a node record the agent
	// registered after the action began (newer than the record read right
	// before it); the record from before the restart, still "ready" until
	// the servers miss a heartbeat, cannot pass. Without such an action (a
	// precondition, or a wait after an eligibility change) it reads the
	// current record.
	Reregistered bool
}

// Guarantee is what a passing check proves to the safety analysis.
type Guarantee string

// Guarantees.
const (
	// ProvesQuorum: the cluster keeps quorum with the target down (NR-S001).
	ProvesQuorum Guarantee = "quorum"
	// ProvesLeaderNotTarget: the target is not the leader (NR-S003).
	ProvesLeaderNotTarget Guarantee = "leader-not-target"
	// ProvesHealthy: the servers are healthy again (NR-S005).
	ProvesHealthy Guarantee = "healthy"
	// ProvesDrained: the node's allocations are gone (NR-S006).
	ProvesDrained Guarantee = "drained"
	// ProvesJoined: new servers are Raft voters (NR-S010).
	ProvesJoined Guarantee = "joined"
	// ProvesJoinedWithCount: ProvesJoined when the check's count argument
	// is set.
	ProvesJoinedWithCount Guarantee = "joined-with-count"
)

// ClusterRule says which cluster a check reads.
type ClusterRule struct {
	// Default is the cluster read when nothing else decides.
	Default Cluster
	// Attr names the literal argument ("nomad" or "consul") that picks the
	// Raft cluster, "" when there is none.
	Attr string
	// FromTarget: a Consul (Nomad) server as the check's target, its own
	// argument or the step's, picks Consul's (Nomad's) servers.
	FromTarget bool
}

// Of is the cluster the check reads, given the value of its cluster
// argument ("" when absent) and the kind of its target.
func (r ClusterRule) Of(arg string, target TargetKind) Cluster {
	switch {
	case r.Attr != "" && arg == "consul":
		return ClusterConsulServers
	case r.Attr != "" && arg == "nomad":
		return ClusterNomadServers
	case r.FromTarget && target == TargetConsulServer:
		return ClusterConsulServers
	case r.FromTarget && target == TargetNomadServer:
		return ClusterNomadServers
	}
	return r.Default
}

// ClusterArgName is the value of a cluster argument that picks c.
func ClusterArgName(c Cluster) string {
	switch c {
	case ClusterConsulServers:
		return "consul"
	case ClusterNomadServers:
		return "nomad"
	}
	return ""
}

// ActionSpecs maps every action type to its catalog entry.
var ActionSpecs = map[string]*ActionSpec{}

// CheckSpecs maps every built-in check name to its catalog entry.
var CheckSpecs = map[string]*CheckSpec{}

func addAction(name string, s *ActionSpec) {
	if _, dup := ActionSpecs[name]; dup {
		panic(fmt.Sprintf("action %q is declared twice", name))
	}
	s.Name = name
	ActionSpecs[name] = s
}

func addCheck(name string, s *CheckSpec) {
	if _, dup := CheckSpecs[name]; dup {
		panic(fmt.Sprintf("check %q is declared twice", name))
	}
	s.Name = name
	CheckSpecs[name] = s
}
