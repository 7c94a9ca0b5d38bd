package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// Sensitivity traces which expressions derive from a sensitive variable,
// directly or through locals. Values carry no cty marks in nrun, so the
// trace is syntactic: a reference to a sensitive var.x, or to a local whose
// expression uses one, makes an expression sensitive. So does a reference
// to step.NAME where NAME is an exec step whose command, check or env is
// sensitive: its output (step.NAME.output) may print the secret in any
// form, which is why the executor suppresses it. A reference inside
// nonsensitive(...) does not: the operator has declared that part public.
type Sensitivity struct {
	vars   map[string]bool
	locals map[string]bool
	// steps are the names of such exec steps, and of the composites
	// holding them. Inner step names are scoped to their composite; a
	// name is marked wherever it is used, which can only hide more.
	steps map[string]bool
}

// NewSensitivity computes the sensitive variables and locals of rb.
func NewSensitivity(rb *Runbook) *Sensitivity {
	s := &Sensitivity{vars: map[string]bool{}, locals: map[string]bool{}, steps: map[string]bool{}}
	if rb == nil {
		return s
	}
	for _, v := range rb.Variables {
		if v.Sensitive {
			s.vars[v.Name] = true
		}
	}
	// Repeat until no more are found: a local may use another local, and
	// a command the output of another step.
	for changed := len(s.vars) > 0; changed; {
		changed = false
		for _, l := range rb.Locals {
			if !s.locals[l.Name] && l.Expr != nil && s.Uses(l.Expr) {
				s.locals[l.Name] = true
				changed = true
			}
		}
		for _, st := range rb.Steps {
			if s.markSteps(st) {
				changed = true
			}
		}
	}
	return s
}

// markSteps marks st (and, for a composite, its inner steps) when it is an
// exec step with a sensitive command, check or env, and reports whether
// anything new was marked. A composite holding one is marked too, since
// step.OUTER.step.INNER.output reaches the output.
func (s *Sensitivity) markSteps(st *Step) bool {
	changed := false
	if a := st.Action; a != nil && a.Spec() != nil && a.Spec().Output && !s.steps[st.Name] {
		for _, name := range []string{"command", "check", "env"} {
			if at, ok := a.Args[name]; ok && s.Uses(at.Expr) {
				s.steps[st.Name] = true
				changed = true
				break
			}
		}
	}
	for _, in := range st.Steps {
		if s.markSteps(in) {
			changed = true
		}
		if s.steps[in.Name] && !s.steps[st.Name] {
			s.steps[st.Name] = true
			changed = true
		}
	}
	return changed
}

// Variable reports whether var.name is sensitive.
func (s *Sensitivity) Variable(name string) bool { return s.vars[name] }

// Uses reports whether e refers to a sensitive variable, directly or
// through a local, outside any nonsensitive(...) call.
func (s *Sensitivity) Uses(e hcl.Expression) bool {
	if e == nil || (len(s.vars) == 0 && len(s.locals) == 0) {
		return false
	}
	var public []hcl.Range
	if n, ok := e.(hclsyntax.Node); ok {
		hclsyntax.VisitAll(n, func(n hclsyntax.Node) hcl.Diagnostics {
			if c, ok := n.(*hclsyntax.FunctionCallExpr); ok && c.Name == "nonsensitive" {
				public = append(public, c.Range())
			}
			return nil
		})
	}
traversals:
	for _, tr := range e.Variables() {
		if len(tr) < 2 {
			continue
		}
		at, ok := tr[1].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		for _, p := range public {
			if p.Overlaps(tr.SourceRange()) {
				continue traversals
			}
		}
		switch tr.RootName() {
		case "var":
			if s.vars[at.Name] {
				return true
			}
		case "local":
			if s.locals[at.Name] {
				return true
			}
		case "step":
			if s.steps[at.Name] {
				return true
			}
		}
	}
	return false
}

// nonsensitiveFunc returns its argument unchanged. Its effect is on the
// sensitivity trace (see Sensitivity.Uses), not on the value.
var nonsensitiveFunc = function.New(&function.Spec{
	Params: []function.Parameter{{
		Name:             "value",
		Type:             cty.DynamicPseudoType,
		AllowNull:        true,
		AllowUnknown:     true,
		AllowDynamicType: true,
	}},
	Type: func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) { return args[0], nil },
})

// References reports whether e refers to a sensitive variable or to a
// local derived from one anywhere, nonsensitive(...) included: what a
// diagnostic printer would show as "with var.x as ..." for e.
func (s *Sensitivity) References(e hcl.Expression) bool {
	if e == nil || (len(s.vars) == 0 && len(s.locals) == 0) {
		return false
	}
	for _, tr := range e.Variables() {
		if len(tr) < 2 {
			continue
		}
		at, ok := tr[1].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		switch tr.RootName() {
		case "var":
			if s.vars[at.Name] {
				return true
			}
		case "local":
			if s.locals[at.Name] {
				return true
			}
		}
	}
	return false
}

// RedactSensitive returns diags with the evaluation context removed from
// every diagnostic whose expression refers to a sensitive value. hcl's
// diagnostic printer shows the values an expression refers to ("with
// var.password as ..."); without the context it shows none. Diagnostics
// are copied, never changed in place.
func RedactSensitive(rb *Runbook, diags hcl.Diagnostics) hcl.Diagnostics {
	if len(diags) == 0 || rb == nil {
		return diags
	}
	s := NewSensitivity(rb)
	if len(s.vars) == 0 {
		return diags
	}
	out := diags
	copied := false
	for i, d := range diags {
		if d == nil || d.EvalContext == nil || !s.References(d.Expression) {
			continue
		}
		if !copied {
			out = append(hcl.Diagnostics(nil), diags...)
			copied = true
		}
		c := *d
		c.EvalContext = nil
		out[i] = &c
	}
	return out
}

// SecretStrings appends to out the text of every string and number inside
// v, as it would appear in output: what a redactor must hide when v is
// the value of a sensitive variable.
func SecretStrings(v cty.Value, out *[]string) {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return
	}
	t := v.Type()
	switch {
	case t == cty.String:
		*out = append(*out, v.AsString())
	case t == cty.Number:
		*out = append(*out, v.AsBigFloat().Text('f', -1))
	case t.IsCollectionType() || t.IsObjectType() || t.IsTupleType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			SecretStrings(e, out)
		}
	}
}
