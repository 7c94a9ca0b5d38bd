package planner

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/lang"
)

// Pass is one analysis that runs on a runbook after its step graph is
// built. It returns its findings as diagnostics with Subject ranges and
// must not assume the runbook is free of earlier errors: Validate runs every
// pass even when lang or BuildGraph reported problems, so one run reports
// everything. The graph is always a DAG (edges closing a cycle are left out
// of its orders), but a runbook with errors may miss steps or edges.
//
// The scope holds the evaluated variables and locals (data sources and steps
// unknown); it may be nil when rb could not be scoped at all. Passes must
// treat it as read-only: it is shared.
type Pass func(rb *lang.Runbook, g *Graph, inputs map[string]cty.Value, sc *lang.Scope) hcl.Diagnostics

// passes run in order after BuildGraph.
//
// SAFETY PASSES GO HERE: the safety analysis (planner/safety*.go) appends
// itself from an init function, e.g.
//
//	func init() { passes = append(passes, checkSafety) }
var passes []Pass

// Validate checks a runbook without a cluster: lang's static validation
// with the given input values, the step graph (dependency cycles), and every
// registered pass (the safety analysis). It returns the graph, never nil,
// so callers such as `nrun graph` can still draw a runbook with errors.
func Validate(rb *lang.Runbook, inputs map[string]cty.Value) (*Graph, hcl.Diagnostics) {
	if rb == nil {
		g, _ := BuildGraph(nil)
		return g, nil
	}
	sc, diags := lang.ValidateWithScope(rb, inputs)
	g, gdiags := BuildGraph(rb)
	diags = append(diags, gdiags...)
	for _, pass := range passes {
		diags = append(diags, pass(rb, g, inputs, sc)...)
	}
	return g, lang.RedactSensitive(rb, diags)
}
