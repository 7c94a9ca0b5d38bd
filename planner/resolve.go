package planner

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// ResolveOptions tune Resolve.
type ResolveOptions struct {
	// Graph is BuildGraph(rb)'s graph when the caller already has it; nil
	// builds it.
	Graph *Graph
	// Salt keys the variable hashes (Variable.Hash) that let apply check a
	// saved plan's inputs. nrun plan -out passes NewSalt(); nil records no
	// hashes, which keeps Resolve a pure function (the same arguments give
	// the same plan bytes, as plan -json on stdout must for code review).
	Salt []byte
	// Inventory is the path of the inventory file the view was read from
	// (nrun plan -inventory), recorded in Plan.Cluster; "" for a view
	// read from the live cluster. It changes nothing else in the plan.
	Inventory string
}

// Resolve turns a runbook into a Plan against one view of the cluster. It
// is a pure function of the IR, the input values and the view (no network,
// no clock), so the same arguments give the same plan bytes.
//
// It fills the data sources from the view, expands for_each (order
// leader_last puts the view's leader last), resolves each instance's target
// and action arguments, evaluates every precondition against the view, runs
// the safety analysis with the live counts and computes the waves. It keeps
// going after an error and returns every problem; the Plan is never nil.
func Resolve(rb *lang.Runbook, inputs map[string]cty.Value, view *cview.View, opts ResolveOptions) (*Plan, hcl.Diagnostics) {
	p, diags := resolve(rb, inputs, view, opts)
	return p, lang.RedactSensitive(rb, diags)
}
