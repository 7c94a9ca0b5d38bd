package lang

import "github.com/zclconf/go-cty/cty"

// CheckSpec is the schema of one built-in check, usable as
// `precondition "NAME" {}` and as `wait "NAME" {}`. A check acts on the
// step's target unless one of its arguments names another object.
type CheckSpec struct {
	Attrs []AttrSpec
	// Target is the kind of object the check looks at; TargetNone for a
	// cluster-wide check.
	Target TargetKind
	// TargetAttr names the argument that overrides the step's target.
	TargetAttr string
	Doc        string
}

// Attr returns the argument spec named name, or nil.
func (s *CheckSpec) Attr(name string) *AttrSpec { return findAttr(s.Attrs, name) }

// Arguments every check block accepts besides its schema's.
const (
	checkTimeoutAttr  = "timeout"  // required on wait, optional on precondition
	checkIntervalAttr = "interval" // wait only: poll interval, default 5s
)

// Servers of both clusters qualify for server checks; the object's type
// says which cluster to ask.
var anyServerObjects = []cty.Type{ServerType, ConsulServerType}

// CheckSpecs maps every built-in check name to its schema.
var CheckSpecs = map[string]*CheckSpec{
	"quorum_ok": {
		Doc: "The cluster stays at quorum with the step's target down: healthy voters, minus the target when it is a healthy voter, is at least voters/2+1. Without a server target it checks the cluster is at quorum now.",
		Attrs: []AttrSpec{
			{Name: "cluster", Type: cty.String, Doc: `"nomad" or "consul". Default: consul when the target is a Consul server, else nomad.`, check: checkOneOf("nomad", "consul")},
		},
	},
	"leader_not_target": {
		Doc:    "The step's target server is not the Raft leader. With transfer = true, leadership is first transferred away if it is.",
		Target: TargetNomadServer, TargetAttr: "server",
		Attrs: []AttrSpec{
			{Name: "server", Type: cty.DynamicPseudoType, Objects: anyServerObjects, Doc: "The server. Defaults to the step's target."},
			{Name: "transfer", Type: cty.Bool, Doc: "Transfer leadership away instead of failing. Default false."},
		},
	},
	"server_healthy": {
		Doc:    "Autopilot reports the server healthy (alive, voter, caught up); as a wait, for at least autopilot's server_stabilization_time.",
		Target: TargetNomadServer, TargetAttr: "server",
		Attrs: []AttrSpec{
			{Name: "server", Type: cty.DynamicPseudoType, Objects: anyServerObjects, Doc: "The server. Defaults to the step's target."},
		},
	},
	"servers_healthy": {
		Doc: "Autopilot reports every server healthy, and, when count is set, at least that many healthy voters.",
		Attrs: []AttrSpec{
			{Name: "count", Type: cty.Number, Doc: "Minimum number of healthy voters.", check: checkWholeNonNegative},
			{Name: "cluster", Type: cty.String, Doc: `"nomad" or "consul". Default nomad.`, check: checkOneOf("nomad", "consul")},
		},
	},
	"raft_peer_present": {
		Doc:    "The server is in the Raft peer set.",
		Target: TargetNomadServer, TargetAttr: "server",
		Attrs: []AttrSpec{
			{Name: "server", Type: cty.DynamicPseudoType, Objects: anyServerObjects, Doc: "The server. Defaults to the step's target."},
		},
	},
	"raft_peer_absent": {
		Doc:    "The server is not in the Raft peer set.",
		Target: TargetNomadServer, TargetAttr: "server",
		Attrs: []AttrSpec{
			{Name: "server", Type: cty.DynamicPseudoType, Objects: anyServerObjects, Doc: "The server. Defaults to the step's target."},
		},
	},
	"node_ready": {
		Doc:    "The client node's status is ready.",
		Target: TargetNomadNode, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: nodeObjects, Doc: "The node. Defaults to the step's target."},
		},
	},
	"node_ineligible": {
		Doc:    "The client node is ineligible for scheduling.",
		Target: TargetNomadNode, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: nodeObjects, Doc: "The node. Defaults to the step's target."},
		},
	},
	"node_drained": {
		Doc:    "The client node's last drain is complete and no non-terminal allocations remain on it other than system jobs' (a drain can report complete before its allocations have stopped).",
		Target: TargetNomadNode, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: nodeObjects, Doc: "The node. Defaults to the step's target."},
		},
	},
	"consul_maintenance": {
		Doc:    "The Consul node's maintenance mode is as expected.",
		Target: TargetConsulServer, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: consulNodeObjects, Doc: "The Consul node. Defaults to the step's target."},
			{Name: "enabled", Type: cty.Bool, Doc: "Expected state. Default true."},
		},
	},
	"deployment_successful": {
		Doc:    "The job's latest deployment succeeded. A wait follows the deployment of the version this run registered (else the job's current version) with blocking queries and fails at once when that deployment fails or is cancelled, naming it and, with auto_revert, the version the job was rolled back to.",
		Target: TargetJob, TargetAttr: "job",
		Attrs: []AttrSpec{
			{Name: "job", Type: cty.String, Required: true, Doc: "The job ID."},
		},
	},
	"deployment_canaries_healthy": {
		Doc:    "The deployment of the job's current version has placed all its canaries and every one is healthy, so it can be promoted (or it has nothing left to promote: its canaries are promoted, or it succeeded; a deployment without canaries, such as a new job's first, holds once it succeeds). A failed or cancelled deployment does not hold; as a wait it then fails at once, naming the deployment and, with auto_revert, the version the job was rolled back to. A wait follows the deployment with blocking queries.",
		Target: TargetJob, TargetAttr: "job",
		Attrs: []AttrSpec{
			{Name: "job", Type: cty.String, Required: true, Doc: "The job ID."},
		},
	},
	"servers_version": {
		Doc: "Every server runs the given version.",
		Attrs: []AttrSpec{
			{Name: "version", Type: cty.String, Required: true, Doc: "The version, e.g. \"1.10.0\"."},
			{Name: "cluster", Type: cty.String, Doc: `"nomad" or "consul". Default nomad.`, check: checkOneOf("nomad", "consul")},
		},
	},
	"http_ok": {
		Doc: "An HTTP GET of the URL answers with the expected status.",
		Attrs: []AttrSpec{
			{Name: "url", Type: cty.String, Required: true, Doc: "The URL."},
			{Name: "status", Type: cty.Number, Doc: "Expected status code. Default 200.", check: checkWholeNonNegative},
		},
	},
}

// CheckNames returns every built-in check name, sorted.
func CheckNames() []string { return sortedKeys(CheckSpecs) }

func checkOneOf(options ...string) func(cty.Value) string {
	return func(v cty.Value) string {
		if !v.IsKnown() || v.IsNull() || !v.Type().Equals(cty.String) {
			return ""
		}
		for _, o := range options {
			if v.AsString() == o {
				return ""
			}
		}
		return "The value must be one of " + quoteListOr(options) + "."
	}
}
