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

	// Name is the check's name; the catalog sets it.
	Name string
	// Cluster says which cluster the check reads.
	Cluster ClusterRule
	// Reads are the ACL capabilities the check reads with; Writes those
	// it may write with (leader_not_target's transfer).
	Reads, Writes []Capability
	// WriteAttr names the bool argument that makes the check write; its
	// Writes count only when that argument is not literally false.
	WriteAttr string
	// Wait is how a wait on the check waits.
	Wait WaitStrategy
	// Proves is what the check, passing, proves to the safety analysis.
	Proves []Guarantee
	// ExactlyOne names arguments of which a check block must set exactly
	// one (servers_version: version or min).
	ExactlyOne []string
	// Remedy is what a failing precondition may do to make itself hold,
	// when its arguments ask for it.
	Remedy Remedy
}

// Remedy is what a failing precondition does before it fails the step.
type Remedy string

// Remedies.
const (
	RemedyNone Remedy = ""
	// RemedyTransferLeadership: with transfer = true, leadership moves to
	// another voter of the cluster the check reads (its ClusterRule: a
	// Consul server target means Consul), and the preconditions are read
	// again.
	RemedyTransferLeadership Remedy = "transfer-leadership"
)

// RemedyAction is the action that carries out remedy r in cluster c, nil
// when there is none.
func RemedyAction(r Remedy, c Cluster) *ActionSpec {
	if r == RemedyNone {
		return nil
	}
	for _, name := range ActionTypes() {
		if s := ActionSpecs[name]; s.Remedy == r && s.Cluster == c {
			return s
		}
	}
	return nil
}

// Has reports whether the check proves g.
func (s *CheckSpec) Has(g Guarantee) bool {
	for _, p := range s.Proves {
		if p == g {
			return true
		}
	}
	return false
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
