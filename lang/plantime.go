package lang

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Plan-time arguments: max_parallel, a step's timeout and a check's
// timeout may be expressions over variables, locals and data sources, all
// known when the plan is made. A literal is decoded at parse time as
// before; an expression is kept (Step.MaxParallelExpr, Step.TimeoutExpr,
// Check.TimeoutExpr), checked by Validate when its value is known offline,
// and evaluated by the planner in its one scope with the functions below,
// so validate and plan refuse the same values with the same words.

// planTimeExpr reports whether the attribute is an expression to evaluate
// at plan time rather than a literal.
func planTimeExpr(a *hcl.Attribute) bool { return len(a.Expr.Variables()) > 0 }

// MaxParallelValue converts an evaluated max_parallel. known is false
// (and there is no diagnostic) while the value is unknown.
func MaxParallelValue(v cty.Value, rng hcl.Range) (n int, known bool, diags hcl.Diagnostics) {
	if !v.IsWhollyKnown() {
		return 0, false, nil
	}
	bad := func(detail string) (int, bool, hcl.Diagnostics) {
		return 0, false, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid max_parallel value",
			Detail:   detail,
			Subject:  rng.Ptr(),
		}}
	}
	if v.IsNull() {
		return bad("max_parallel is null. Give the variable or local a whole number from 1 to 100000, or remove max_parallel to run one instance at a time.")
	}
	cv, err := convert.Convert(v, cty.Number)
	if err != nil {
		return bad(fmt.Sprintf("max_parallel must be a whole number from 1 to %d, but this is a %s.", maxParallelLimit, v.Type().FriendlyName()))
	}
	bf := cv.AsBigFloat()
	i, acc := bf.Int64()
	if !bf.IsInt() || acc != 0 || i < 1 || i > maxParallelLimit {
		return bad(fmt.Sprintf("max_parallel must be a whole number from 1 to %d; %s is not. Change the value it is computed from.", maxParallelLimit, bf.Text('g', -1)))
	}
	return int(i), true, nil
}

// DurationValue converts an evaluated timeout (what names it in
// messages). known is false while the value is unknown.
func DurationValue(v cty.Value, what string, rng hcl.Range) (d time.Duration, known bool, diags hcl.Diagnostics) {
	if !v.IsWhollyKnown() {
		return 0, false, nil
	}
	if v.IsNull() {
		return 0, false, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid duration",
			Detail:   fmt.Sprintf("The %s argument is null. Give the variable or local a duration such as \"5m\", or remove the argument.", what),
			Subject:  rng.Ptr(),
		}}
	}
	cv, err := convert.Convert(v, cty.String)
	if err != nil {
		return 0, false, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("The %s argument must be a string duration such as \"5m\", but this is a %s.", what, v.Type().FriendlyName()),
			Subject:  rng.Ptr(),
		}}
	}
	s := cv.AsString()
	d, err = ParseDuration(s)
	if err == nil && d == 0 {
		err = fmt.Errorf("it must be longer than zero")
	}
	if err != nil {
		return 0, false, hcl.Diagnostics{durationDiag(what, s, err, rng)}
	}
	return d, true, nil
}

// planTimeRules are the references a plan-time argument may make:
// variables, locals and data sources, but not each (the argument is one
// for the whole step), step outputs or Terraform outputs (known only while
// applying).
func planTimeRules(what string) refRules {
	return refRules{
		where:     "the " + what + " argument",
		noEachWhy: fmt.Sprintf("%s is one value for the whole step, decided when the plan is made, so there is no current for_each instance. Use a variable, a local or a data source.", what),
		data:      true, local: true,
	}
}

// planTimeArg checks a plan-time argument's references and evaluates it
// with data sources unknown (offline). The value is unknown when it
// depends on a data source.
func (v *validator) planTimeArg(e hcl.Expression, what string) cty.Value {
	d, ok := v.ix.check(e, planTimeRules(what))
	v.diags = append(v.diags, d...)
	if !ok {
		return cty.DynamicVal
	}
	for _, tr := range e.Variables() {
		if tr.RootName() != "local" || len(tr) < 2 {
			continue
		}
		a, isAttr := tr[1].(hcl.TraverseAttr)
		if !isAttr {
			continue
		}
		for _, root := range []string{"step", "terraform"} {
			if v.localDependsOn(a.Name, root) {
				v.diags = append(v.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference not allowed here",
					Detail:   fmt.Sprintf("The %s argument is decided when the plan is made, but local.%s depends on %s values, known only while applying. Use a variable, a data source or a local that does not depend on %s.", what, a.Name, root, root),
					Subject:  tr.SourceRange().Ptr(),
				})
				return cty.DynamicVal
			}
		}
	}
	val, d := e.Value(v.sc.EvalContext(nil))
	v.diags = append(v.diags, d...)
	if d.HasErrors() {
		return cty.DynamicVal
	}
	return val
}

// EnabledValue converts an evaluated enabled. known is false while the
// value is unknown.
func EnabledValue(v cty.Value, rng hcl.Range) (enabled, known bool, diags hcl.Diagnostics) {
	if !v.IsWhollyKnown() {
		return true, false, nil
	}
	cv, err := convert.Convert(v, cty.Bool)
	if err != nil || v.IsNull() {
		what := "null"
		if !v.IsNull() {
			what = "a " + v.Type().FriendlyName()
		}
		return true, false, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("The enabled argument must be true or false, but this is %s. Write a condition such as enabled = var.upgrade_consul.", what),
			Subject:  rng.Ptr(),
		}}
	}
	return cv.True(), true, nil
}

// planTimeArgs validates a step's plan-time arguments (and its checks'
// timeouts) with what is known offline.
func (v *validator) planTimeArgs(st *Step) {
	if e := st.MaxParallelExpr; e != nil {
		_, _, d := MaxParallelValue(v.planTimeArg(e, "max_parallel"), e.Range())
		v.diags = append(v.diags, d...)
	}
	if e := st.Enabled; e != nil {
		_, _, d := EnabledValue(v.planTimeArg(e, "enabled"), e.Range())
		v.diags = append(v.diags, d...)
	}
	if e := st.TimeoutExpr; e != nil {
		_, _, d := DurationValue(v.planTimeArg(e, "timeout"), "timeout", e.Range())
		v.diags = append(v.diags, d...)
	}
	for _, c := range append(append([]*Check(nil), st.Preconditions...), st.Waits...) {
		if e := c.TimeoutExpr; e != nil {
			_, _, d := DurationValue(v.planTimeArg(e, "timeout"), "timeout", e.Range())
			v.diags = append(v.diags, d...)
		}
	}
}
