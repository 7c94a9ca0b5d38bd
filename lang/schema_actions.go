package lang

import (
	"fmt"
	"github.com/hashicorp/hcl/v2"
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

	// Name is the action type; the catalog sets it.
	Name string
	// Cluster is what the action acts on.
	Cluster Cluster
	// Targets are the kinds of object the step's target may be when the
	// action acts on it (its TargetAttr argument omitted).
	Targets []TargetKind
	// TargetOptional: without its TargetAttr argument and a step target
	// the action still has something to act on (a leadership transfer
	// lets Nomad pick the new leader).
	TargetOptional bool
	// DeclaresEffect: the block's literal effect argument is its effect.
	DeclaresEffect bool
	// EffectOf, when set, refines Effect from the block's arguments (a
	// terraform_apply that declares destroys destroys).
	EffectOf func(args map[string]*hcl.Attribute) Effect
	// Reads and Writes are the ACL capabilities the action uses.
	Reads, Writes []Capability
	// Probe is how resume settles an in-doubt run of the action.
	Probe Probe
	// RepeatSafe says why running the action again is harmless, as resume
	// reports it; set when Probe is ProbeRepeat.
	RepeatSafe string
	// Remedy: the action is how a failing precondition's remedy (a
	// check's CheckSpec.Remedy) is carried out in the action's Cluster.
	Remedy Remedy
	// Local: the action acts only on this machine (or on nothing), so a
	// runbook of such steps alone needs no cluster.
	Local bool
	// Output: the action's standard output is step.NAME.output, so its
	// arguments can leak a secret there.
	Output bool
	// Preview is what nrun plan previews of the action.
	Preview Preview
	// Approves: the action stops the run until an operator approves it,
	// so the steps that depend on it run only with a person's consent
	// (NR-S012 requires one before a snapshot restore).
	Approves bool
	// Saves names the argument that gives the snapshot file the action
	// writes ("path"), "" for other actions: a restore of that file after
	// the step needs no file at plan (NR-S012).
	Saves string
	// Restores names the argument that gives the snapshot file the action
	// restores ("path"), "" for other actions. NR-S012 checks it: saved by
	// an earlier step the restore depends on, or a file that exists and
	// reads as a snapshot at plan.
	Restores string
}

// Preview is what nrun plan shows of an action beyond its arguments.
type Preview string

// Previews.
const (
	PreviewNone Preview = ""
	// PreviewJob: the servers plan the job the action registers
	// (planner.PreviewJobs); apply refuses it if the job changed since.
	PreviewJob Preview = "job"
	// PreviewTerraform: terraform plans the directory the action applies
	// (planner.PreviewTerraform).
	PreviewTerraform Preview = "terraform"
)

// TakesTerraform reports whether the argument a names a terraform
// directory (terraform.NAME), whose outputs the scope must hold before
// the action's arguments are evaluated.
func (a *AttrSpec) TakesTerraform() bool {
	for _, t := range a.Objects {
		if t.Equals(TerraformType) {
			return true
		}
	}
	return false
}

// TakesTerraform reports whether any of the action's arguments names a
// terraform directory.
func (s *ActionSpec) TakesTerraform() bool {
	for i := range s.Attrs {
		if s.Attrs[i].TakesTerraform() {
			return true
		}
	}
	return false
}

// Accepts reports whether the action can act on a target of kind k.
func (s *ActionSpec) Accepts(k TargetKind) bool {
	for _, t := range s.Targets {
		if t == k {
			return true
		}
	}
	return false
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

// ActionTypes returns every action type name, sorted.
func ActionTypes() []string { return sortedKeys(ActionSpecs) }

func sortedKeys[K ~string, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
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
