package planner

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nrun-dev/nrun/addrs"
	"github.com/nrun-dev/nrun/lang"
)

// Plan-time arguments (lang/plantime.go): max_parallel and timeouts
// written as expressions are evaluated here, once, in the plan's scope
// (variables, locals and the data sources read from the view), and the
// plan records the values; the executor reads them from the plan.

// planMaxParallel is st's max_parallel: the literal, else its expression's
// value in the plan's scope.
func (r *resolver) planMaxParallel(st *lang.Step) int {
	if st.MaxParallelExpr == nil {
		return max(st.MaxParallel, 1)
	}
	v, d := st.MaxParallelExpr.Value(r.sc.EvalContext(nil))
	n, known, d2 := lang.MaxParallelValue(v, st.MaxParallelExpr.Range())
	r.planArgDiags(append(d, d2...), known, "max_parallel", st.MaxParallelExpr.Range())
	return max(n, 1)
}

// planTimeout is a step's or check's timeout: the literal, else its
// expression's value in the plan's scope.
func (r *resolver) planTimeout(lit time.Duration, e hcl.Expression) time.Duration {
	if e == nil {
		return lit
	}
	v, d := e.Value(r.sc.EvalContext(nil))
	t, known, d2 := lang.DurationValue(v, "timeout", e.Range())
	r.planArgDiags(append(d, d2...), known, "timeout", e.Range())
	return t
}

// planArgDiags records a plan-time argument's diagnostics once per
// argument (a step's timeout is evaluated for each of its instances), and
// refuses a value that is still unknown: the plan must say what it will do.
func (r *resolver) planArgDiags(diags hcl.Diagnostics, known bool, what string, rng hcl.Range) {
	for _, d := range diags {
		if d.Subject == nil || !r.reported(d.Summary, *d.Subject) {
			r.diags = append(r.diags, d)
		}
	}
	if known || diags.HasErrors() || r.reported("Value not known at plan", rng) {
		return
	}
	r.diags = append(r.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Value not known at plan",
		Detail:   fmt.Sprintf("The %s argument must be known when the plan is made, and this expression is not. Compute it from variables, locals and data sources only, and give every variable it uses a value.", what),
		Subject:  rng.Ptr(),
	})
}

// stepDisabled evaluates st's enabled in the plan's scope: true when it is
// false. A value that is unknown or not a bool is an error, and the step
// is planned as enabled (nothing is skipped that might have to run).
func (r *resolver) stepDisabled(st *lang.Step) bool {
	if st.Enabled == nil {
		return false
	}
	v, d := st.Enabled.Value(r.sc.EvalContext(nil))
	on, known, d2 := lang.EnabledValue(v, st.Enabled.Range())
	r.planArgDiags(append(d, d2...), known, "enabled", st.Enabled.Range())
	return known && !on
}

// refsToDisabled refuses a reference from st (or its inner steps) to a
// disabled step's output: it will never exist. depends_on on a disabled
// step is fine; it orders, and the order skips the step.
func (r *resolver) refsToDisabled(st *lang.Step) {
	for _, s := range append([]*lang.Step{st}, st.Steps...) {
		for _, ref := range s.Refs {
			top := ref.Addr
			if top.Outer != "" {
				top = addrs.TopStep(top.Outer)
			}
			if _, off := r.disabled[top]; !off {
				continue
			}
			r.diags = append(r.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Reference to a disabled step",
				Detail:   fmt.Sprintf("%s uses the output of %s, whose enabled argument is false in this plan, so that output will never exist. Give %s the same enabled condition, or enable %s.", s.Addr, top, s.Addr, top),
				Subject:  ref.Range.Ptr(),
			})
		}
	}
}
