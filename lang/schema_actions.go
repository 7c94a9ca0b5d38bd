package lang

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// ExecTimeout is how long an exec action's command may run when its
// timeout argument is not set: a command that hangs (waiting on a prompt,
// on a dead host) must not hold the run, and its lock, forever.
// LANGUAGE.md states it (the exec schema's timeout doc).
const ExecTimeout = 30 * time.Minute

// AttrSpec describes one argument of an action or check.
type AttrSpec struct {
	Name string
	// Type is the type the value must convert to. cty.DynamicPseudoType
	// means the value is checked by Objects or by the argument's own rule
	// (see LANGUAGE.md) instead.
	Type     cty.Type
	Required bool
	Doc      string
	// Objects, when set, makes this a reference to a cluster object: the
	// value is either a string (name or ID, resolved at plan time) or an
	// object of one of these types, e.g. each.value of a server for_each.
	Objects []cty.Type
	// Duration marks a string argument that must parse as a duration.
	Duration bool

	// check, when set, is an extra rule on known values; it returns a
	// sentence saying what is wrong, or "".
	check func(v cty.Value) string
}

// ActionSpec is the schema of one action type. There is no catch-all: an
// argument not listed here is an error.
type ActionSpec struct {
	Attrs []AttrSpec
	// Effect is what the action does to its target. For exec it is
	// EffectNone here; the exec block declares its own.
	Effect Effect
	// Target is the kind of object the action acts on, TargetNone when it
	// acts on the cluster as a whole or on nothing.
	Target TargetKind
	// TargetAttr names the argument that says which object is acted on,
	// e.g. "node". When that argument is omitted the step's target is used.
	TargetAttr string
	Doc        string
}

// Attr returns the argument spec named name, or nil.
func (s *ActionSpec) Attr(name string) *AttrSpec { return findAttr(s.Attrs, name) }

func findAttr(attrs []AttrSpec, name string) *AttrSpec {
	for i := range attrs {
		if attrs[i].Name == name {
			return &attrs[i]
		}
	}
	return nil
}

var (
	serverObjects       = []cty.Type{ServerType}
	nodeObjects         = []cty.Type{NodeType}
	consulServerObjects = []cty.Type{ConsulServerType}
	// A Consul agent usually runs on every Nomad node and server under the
	// same name, so Consul node arguments accept any of the three.
	consulNodeObjects = []cty.Type{ConsulServerType, NodeType, ServerType}
)

// CreatesType is the type of terraform_apply's creates argument: how many
// members of each kind the apply adds to the cluster.
var CreatesType = cty.ObjectWithOptionalAttrs(map[string]cty.Type{
	"nomad_servers":  cty.Number,
	"nomad_clients":  cty.Number,
	"consul_servers": cty.Number,
}, []string{"nomad_servers", "nomad_clients", "consul_servers"})

// ActionSpecs maps every action type to its schema.
var ActionSpecs = map[string]*ActionSpec{
	"nomad_node_drain": {
		Doc:    "Drains a Nomad client node and waits until the drain completes.",
		Effect: EffectDrain, Target: TargetNomadNode, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: nodeObjects, Doc: "The node to drain: a node object or its name or ID. Defaults to the step's target."},
			{Name: "deadline", Type: cty.String, Duration: true, Doc: "How long allocations may take to migrate before they are stopped (Nomad's -deadline). Default 1h."},
			{Name: "ignore_system_jobs", Type: cty.Bool, Doc: "Leave system jobs running on the node. Default false."},
			{Name: "force", Type: cty.Bool, Doc: "Stop allocations at once instead of migrating them. Default false."},
		},
	},
	"nomad_node_eligibility": {
		Doc:    "Marks a Nomad client node eligible or ineligible for scheduling.",
		Effect: EffectEligibility, Target: TargetNomadNode, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: nodeObjects, Doc: "The node: a node object or its name or ID. Defaults to the step's target."},
			{Name: "eligible", Type: cty.Bool, Required: true, Doc: "true to make the node eligible, false to make it ineligible."},
		},
	},
	"nomad_server_force_leave": {
		Doc:    "Forces a Nomad server out of the gossip pool (nomad server force-leave).",
		Effect: EffectLeave, Target: TargetNomadServer, TargetAttr: "server",
		Attrs: []AttrSpec{
			{Name: "server", Type: cty.DynamicPseudoType, Objects: serverObjects, Doc: "The server: a server object or its name. Defaults to the step's target."},
			{Name: "prune", Type: cty.Bool, Doc: "Also remove it from the member list (-prune). Default false."},
		},
	},
	"nomad_raft_remove_peer": {
		Doc:    "Removes a Nomad server from the Raft peer set.",
		Effect: EffectRemovePeer, Target: TargetNomadServer, TargetAttr: "server",
		Attrs: []AttrSpec{
			{Name: "server", Type: cty.DynamicPseudoType, Objects: serverObjects, Doc: "The server: a server object, its name or its Raft ID. Defaults to the step's target."},
		},
	},
	"nomad_raft_transfer_leadership": {
		Doc:    "Transfers Raft leadership away from the current leader.",
		Effect: EffectLeadership, Target: TargetNomadServer, TargetAttr: "to",
		Attrs: []AttrSpec{
			{Name: "to", Type: cty.DynamicPseudoType, Objects: serverObjects, Doc: "The server that should become leader. When omitted Nomad picks any other voter."},
		},
	},
	"nomad_snapshot_save": {
		Doc:    "Saves a Nomad Raft snapshot to a local file.",
		Effect: EffectSnapshot,
		Attrs: []AttrSpec{
			{Name: "path", Type: cty.String, Required: true, Doc: "Where to write the snapshot, relative to the runbook directory."},
		},
	},
	"nomad_job_run": {
		Doc:    "Registers a job from a jobspec file (the server parses it). nrun plan has the servers plan it and shows the job diff; the registration is refused if the job changed since that plan.",
		Effect: EffectJob, Target: TargetJob,
		Attrs: []AttrSpec{
			{Name: "jobspec", Type: cty.String, Required: true, Doc: "Path of the HCL jobspec, relative to the runbook directory."},
			{Name: "check_index", Type: cty.Number, Doc: "Only register if the job's modify index equals this (nomad job run -check-index; 0: only if the job does not exist). Default: the JobModifyIndex the plan's job diff was computed against, so a job changed between plan and apply is refused; when the plan has no job diff (made offline, or the jobspec is known only during apply), the index read right before registering."},
			{Name: "vars", Type: cty.Map(cty.String), Doc: "HCL2 jobspec variables (nomad job run -var)."},
		},
	},
	"nomad_deployment_promote": {
		Doc:    "Promotes the canaries of the deployment of the job version a nomad_job_run of this run registered (else the job's current version), first waiting (within the step's timeout) until those canaries are healthy. Promoting an already promoted deployment sends nothing; a deployment that failed (or that auto_revert rolled back) fails the step, naming it.",
		Effect: EffectJob, Target: TargetJob, TargetAttr: "job",
		Attrs: []AttrSpec{
			{Name: "job", Type: cty.String, Required: true, Doc: "The job ID."},
			{Name: "groups", Type: cty.List(cty.String), Doc: "Promote only these task groups. Default: all."},
		},
	},
	"nomad_job_revert": {
		Doc:    "Reverts a job to an earlier version.",
		Effect: EffectJob, Target: TargetJob, TargetAttr: "job",
		Attrs: []AttrSpec{
			{Name: "job", Type: cty.String, Required: true, Doc: "The job ID."},
			{Name: "version", Type: cty.Number, Required: true, Doc: "The job version to revert to.", check: checkWholeNonNegative},
		},
	},
	"consul_maintenance": {
		Doc:    "Enables or disables Consul node maintenance mode. Node maintenance is set through the node's own Consul agent; nrun asks that agent its node name first and refuses to act when it is another node. It does not touch Raft: a Consul or Nomad server in maintenance is still a peer.",
		Effect: EffectMaintenance, Target: TargetConsulServer, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: consulNodeObjects, Doc: "The Consul node: a Consul server, Nomad server or Nomad node object, or a node name. A Nomad server's name loses its region (\"s1.global\" is node s1). Defaults to the step's target."},
			{Name: "agent", Type: cty.String, Doc: "HTTP address of the node's own Consul agent, \"host:port\" or a URL such as \"https://10.0.0.5:8501\". Default: the node's gossip address with the port and scheme of the configured Consul address, right when every host runs its agent on the same port.", check: checkAgentAddress},
			{Name: "enable", Type: cty.Bool, Doc: "true to enter maintenance, false to leave it. Default true."},
			{Name: "reason", Type: cty.String, Doc: "Reason recorded with the maintenance flag."},
		},
	},
	"consul_force_leave": {
		Doc:    "Forces a Consul node out of the gossip pool (consul force-leave). A running agent that is forced out simply rejoins, so an alive member is refused: stop its agent first and let gossip mark it failed.",
		Effect: EffectLeave, Target: TargetConsulServer, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: consulNodeObjects, Doc: "The Consul node: a Consul server, Nomad server or Nomad node object, or a node name. Defaults to the step's target."},
			{Name: "prune", Type: cty.Bool, Doc: "Also remove it from the member list (-prune). Default false."},
		},
	},
	"consul_raft_remove_peer": {
		Doc:    "Removes a Consul server from the Raft peer set.",
		Effect: EffectRemovePeer, Target: TargetConsulServer, TargetAttr: "server",
		Attrs: []AttrSpec{
			{Name: "server", Type: cty.DynamicPseudoType, Objects: consulServerObjects, Doc: "The server: a Consul server object, its name or its Raft ID. Defaults to the step's target."},
		},
	},
	"consul_snapshot_save": {
		Doc:    "Saves a Consul snapshot to a local file.",
		Effect: EffectSnapshot,
		Attrs: []AttrSpec{
			{Name: "path", Type: cty.String, Required: true, Doc: "Where to write the snapshot, relative to the runbook directory."},
		},
	},
	"terraform_apply": {
		Doc:    "Runs terraform apply in a declared terraform directory. creates and destroys tell the safety analysis what the apply does to the cluster.",
		Effect: EffectCreate,
		Attrs: []AttrSpec{
			{Name: "terraform", Type: cty.DynamicPseudoType, Required: true, Objects: []cty.Type{TerraformType}, Doc: "The directory: terraform.NAME or the name of a terraform block."},
			{Name: "vars", Type: cty.DynamicPseudoType, Doc: "Terraform input variables (-var), a map or object of any values.", check: checkMapOrObject},
			{Name: "creates", Type: CreatesType, Doc: "How many members the apply adds: { nomad_servers = N, nomad_clients = N, consul_servers = N }.", check: checkCreates},
			{Name: "destroys", Type: cty.DynamicPseudoType, Doc: "The members the apply removes: a map, set, list or object of server/node objects or names, e.g. data.nomad_servers.blue.by_name.", check: checkDestroys},
		},
	},
	"exec": {
		Doc:    "Runs a local command (argv, no shell). The block declares its effect on the step's target. Its output is streamed line by line to the console, -json events and run.log (whole lines, however long; the console and events get lines over 4 KiB in pieces). A failure record keeps the last 5 lines. step.NAME.output is its standard output up to 1 MiB; a longer output is not kept (run.log has it) and a step that uses step.NAME.output then fails, naming it. When `command`, `check` or `env` uses a sensitive value, the command's output is suppressed everywhere, replaced by one line saying so: wrap the value in nonsensitive() to show it. In all other output, secrets are masked, also upper- or lower-cased, base64- or URL-encoded and reversed.",
		Effect: EffectNone,
		Attrs: []AttrSpec{
			{Name: "command", Type: cty.List(cty.String), Required: true, Doc: "argv of the command; the first element is looked up on PATH.", check: checkNonEmpty},
			{Name: "effect", Type: cty.String, Required: true, Doc: "What the command does to the target: none, restart, stop, start or destroy. Must be a literal."},
			{Name: "env", Type: cty.Map(cty.String), Doc: "Extra environment variables for the command."},
			{Name: "timeout", Type: cty.String, Duration: true, Doc: "Stop the command after this long: SIGTERM to its process group, then SIGKILL 10s later if it has not exited. The same happens when the step's timeout runs out or at a second Ctrl-C. Default: 30m."},
			{Name: "check", Type: cty.List(cty.String), Doc: "argv of a command that must exit 0 after the main command for the step to succeed.", check: checkNonEmpty},
		},
	},
	"approval": {
		Doc:    "Stops until an operator approves; the message says what is being approved.",
		Effect: EffectNone,
		Attrs: []AttrSpec{
			{Name: "message", Type: cty.String, Required: true, Doc: "What the operator is asked to confirm."},
		},
	},
	"sleep": {
		Doc:    "Waits for a fixed time.",
		Effect: EffectNone,
		Attrs: []AttrSpec{
			{Name: "duration", Type: cty.String, Required: true, Duration: true, Doc: "How long to sleep."},
		},
	},
}

// ActionTypes returns every action type name, sorted.
func ActionTypes() []string { return sortedKeys(ActionSpecs) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func checkNonEmpty(v cty.Value) string {
	if v.Type().IsListType() && v.IsKnown() && !v.IsNull() && v.LengthInt() == 0 {
		return "The list must have at least one element."
	}
	return ""
}

func checkWholeNonNegative(v cty.Value) string {
	if !v.IsKnown() || v.IsNull() || !v.Type().Equals(cty.Number) {
		return ""
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() || bf.Sign() < 0 {
		return "The value must be a whole number, 0 or more."
	}
	return ""
}

func checkMapOrObject(v cty.Value) string {
	t := v.Type()
	if t == cty.DynamicPseudoType || t.IsMapType() || t.IsObjectType() {
		return ""
	}
	return fmt.Sprintf("A map or object is required, such as { name = \"value\" }, but this is a %s.", t.FriendlyName())
}

// checkCreates rejects unknown attribute names, which conversion to
// CreatesType would silently drop.
func checkCreates(v cty.Value) string {
	t := v.Type()
	if !t.IsObjectType() {
		return ""
	}
	for _, name := range sortedKeys(t.AttributeTypes()) {
		if !CreatesType.HasAttribute(name) {
			return fmt.Sprintf("creates has no attribute %q; use nomad_servers, nomad_clients or consul_servers.", name)
		}
		if !v.IsKnown() || v.IsNull() {
			continue
		}
		if av := v.GetAttr(name); av.Type().Equals(cty.Number) {
			if msg := checkWholeNonNegative(av); msg != "" {
				return fmt.Sprintf("creates.%s: %s", name, msg)
			}
		}
	}
	return ""
}

// checkAgentAddress accepts "host:port" or an http(s) URL with a host and
// a port, the forms SetMaintenance dials.
func checkAgentAddress(v cty.Value) string {
	if !v.IsKnown() || v.IsNull() || !v.Type().Equals(cty.String) {
		return ""
	}
	s := v.AsString()
	if s == "" {
		return "The address is empty; give the agent's \"host:port\", or leave agent out to use the node's address with the configured Consul port."
	}
	hostport := s
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		if scheme != "http" && scheme != "https" {
			return fmt.Sprintf("The scheme %q is not http or https; write \"http://host:port\", \"https://host:port\" or \"host:port\".", scheme)
		}
		hostport = strings.TrimSuffix(rest, "/")
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || host == "" || port == "" || strings.Contains(port, "/") {
		return fmt.Sprintf("%q is not \"host:port\" or a URL with a host and a port; write the agent's HTTP address, such as \"10.0.0.5:8500\".", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("The port %q is not a number from 1 to 65535.", port)
	}
	return ""
}

// checkDestroys accepts a collection of cluster objects or names.
func checkDestroys(v cty.Value) string {
	t := v.Type()
	if t == cty.DynamicPseudoType {
		return ""
	}
	ok := func(et cty.Type) bool {
		return et == cty.DynamicPseudoType || et.Equals(cty.String) || TargetKindOf(et) != TargetNone
	}
	switch {
	case t.IsMapType() || t.IsSetType() || t.IsListType():
		if ok(t.ElementType()) {
			return ""
		}
	case t.IsObjectType():
		good := true
		for _, at := range t.AttributeTypes() {
			good = good && ok(at)
		}
		if good {
			return ""
		}
	case t.IsTupleType():
		good := true
		for _, et := range t.TupleElementTypes() {
			good = good && ok(et)
		}
		if good {
			return ""
		}
	}
	return fmt.Sprintf("destroys must be a map, set or list of server or node objects (or their names), such as data.nomad_servers.blue.by_name; this is a %s.", t.FriendlyName())
}
