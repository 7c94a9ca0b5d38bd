package lang

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Scope holds the values references resolve to. Validate builds one where
// data sources, steps and terraform outputs are unknown values of their
// types; the planner builds one and then fills in the live values. The maps
// may be changed after NewScope; call Refresh afterwards (the Set methods
// do it for you), because EvalContext caches the objects built from them.
type Scope struct {
	Runbook *Runbook
	// Vars has every declared variable: its input value, else its
	// default, else an unknown value of its type.
	Vars map[string]cty.Value
	// Locals has every local value that could be evaluated; locals with
	// errors are unknown.
	Locals map[string]cty.Value
	// Data is keyed "TYPE.NAME", e.g. "nomad_servers.all". Default: an
	// unknown value of DataSourceValueType(TYPE).
	Data map[string]cty.Value
	// Steps is keyed by step name for top-level steps and "OUTER.step.NAME"
	// for inner steps; each value is object({output = any}). Default
	// unknown.
	Steps map[string]cty.Value
	// Terraform is keyed by terraform block name; each value is
	// object({dir = string, outputs = any}). Default unknown.
	Terraform map[string]cty.Value

	base      *hcl.EvalContext
	siblings  map[string]*hcl.EvalContext // composite name -> context with its inner steps as step.*
	localDeps map[string][]string         // local name -> locals it refers to
}

// Each is the value of each in one for_each instance.
type Each struct {
	Key, Value cty.Value
}

// NewScope builds the scope for rb with the given input values (as
// returned by InputValues). It evaluates the locals in dependency order and
// reports undeclared references, cycles among locals and evaluation errors.
func NewScope(rb *Runbook, inputs map[string]cty.Value) (*Scope, hcl.Diagnostics) {
	s, _, diags := newScope(rb, inputs)
	return s, diags
}

func newScope(rb *Runbook, inputs map[string]cty.Value) (*Scope, *refIndex, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	if rb == nil {
		rb = &Runbook{}
	}
	s := &Scope{
		Runbook:   rb,
		Vars:      map[string]cty.Value{},
		Locals:    map[string]cty.Value{},
		Data:      map[string]cty.Value{},
		Steps:     map[string]cty.Value{},
		Terraform: map[string]cty.Value{},
		localDeps: map[string][]string{},
	}
	ix := newRefIndex(rb)
	for _, v := range rb.Variables {
		val, d := variableValue(rb, v, inputs)
		diags = append(diags, d...)
		s.Vars[v.Name] = val
	}
	for _, d := range rb.Data {
		s.Data[string(d.Type)+"."+d.Name] = cty.UnknownVal(DataSourceValueType(d.Type))
	}
	for _, st := range rb.AllSteps() {
		s.Steps[stepKey(st)] = cty.UnknownVal(StepValueType)
	}
	for _, t := range rb.Terraforms {
		s.Terraform[t.Name] = cty.UnknownVal(TerraformType)
	}
	diags = append(diags, s.evalLocals(ix)...)
	return s, ix, diags
}

func stepKey(st *Step) string {
	if st.Outer != nil {
		return st.Outer.Name + ".step." + st.Name
	}
	return st.Name
}

// variableValue is the value var.NAME has: input, default or unknown.
func variableValue(rb *Runbook, v *Variable, inputs map[string]cty.Value) (cty.Value, hcl.Diagnostics) {
	in, ok := inputs[v.Name]
	if !ok || in == cty.NilVal {
		if v.Default != cty.NilVal {
			return v.Default, nil
		}
		return cty.UnknownVal(v.Type), nil
	}
	cv, err := convert.Convert(in, v.Type)
	if err != nil {
		rng := v.DeclRange
		if r, ok := rb.InputRanges[v.Name]; ok {
			rng = r
		}
		return cty.UnknownVal(v.Type), hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for input variable",
			Detail:   fmt.Sprintf("The value given for variable %q is not a %s: %s. Pass a value of the declared type.", v.Name, v.Type.FriendlyName(), convertErrText(err)),
			Subject:  rng.Ptr(),
		}}
	}
	return cv, nil
}

// evalLocals evaluates locals in dependency order. A local that is part of
// a cycle or refers to something undeclared becomes an unknown value, so
// the rest of validation still runs.
func (s *Scope) evalLocals(ix *refIndex) hcl.Diagnostics {
	var diags hcl.Diagnostics
	rules := refRules{
		where:     "a local value",
		noEachWhy: "Local values are shared by the whole runbook, so there is no current for_each instance. Move the expression into the step that uses it.",
		steps:     ix.steps,
		data:      true, local: true, terraform: true,
	}
	byName := map[string]*Local{}
	valid := map[string]bool{}
	for _, l := range s.Runbook.Locals {
		byName[l.Name] = l
		d, ok := ix.check(l.Expr, rules)
		diags = append(diags, d...)
		valid[l.Name] = ok
		var deps []string
		seen := map[string]bool{}
		for _, tr := range l.Expr.Variables() {
			if tr.RootName() != "local" || len(tr) < 2 {
				continue
			}
			if a, isAttr := tr[1].(hcl.TraverseAttr); isAttr && ix.locals[a.Name] != nil && !seen[a.Name] {
				seen[a.Name] = true
				deps = append(deps, a.Name)
			}
		}
		s.localDeps[l.Name] = deps
	}

	pre := s.buildBase(false)
	// Depth-first evaluation; state 1 = in progress, 2 = done.
	state := map[string]int{}
	var stack []string
	inCycle := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		switch state[name] {
		case 2:
			return
		case 1:
			// Found a cycle: the stack from name's position to the end.
			i := len(stack) - 1
			for i >= 0 && stack[i] != name {
				i--
			}
			cycle := append(append([]string(nil), stack[i:]...), name)
			if !inCycle[name] {
				for _, n := range cycle {
					inCycle[n] = true
				}
				l := byName[name]
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Cycle in local values",
					Detail:   fmt.Sprintf("Local values refer to each other in a circle: %s. Break the cycle by computing one of them from other values.", "local."+strings.Join(cycle, " -> local.")),
					Subject:  l.DeclRange.Ptr(),
					Context:  l.Expr.Range().Ptr(),
				})
			}
			return
		}
		state[name] = 1
		stack = append(stack, name)
		for _, dep := range s.localDeps[name] {
			visit(dep)
		}
		stack = stack[:len(stack)-1]
		state[name] = 2
		l := byName[name]
		if !valid[name] || inCycle[name] {
			s.Locals[name] = cty.DynamicVal
			return
		}
		for _, dep := range s.localDeps[name] {
			if inCycle[dep] {
				s.Locals[name] = cty.DynamicVal
				return
			}
		}
		v, d := l.Expr.Value(s.localContext(pre, name))
		diags = append(diags, d...)
		if d.HasErrors() {
			v = cty.DynamicVal
		}
		s.Locals[name] = v
	}
	for _, l := range s.Runbook.Locals {
		visit(l.Name)
	}
	return diags
}

// localContext is the context to evaluate one local in: the base context
// with local.* holding only the locals it refers to, already evaluated.
func (s *Scope) localContext(pre *hcl.EvalContext, name string) *hcl.EvalContext {
	ctx := pre.NewChild()
	locals := map[string]cty.Value{}
	for _, dep := range s.localDeps[name] {
		if v, ok := s.Locals[dep]; ok {
			locals[dep] = v
		} else {
			locals[dep] = cty.DynamicVal
		}
	}
	ctx.Variables = map[string]cty.Value{"local": objectOrEmpty(locals)}
	return ctx
}

// Refresh drops the cached objects, so that changes to the maps show in the
// next EvalContext.
func (s *Scope) Refresh() {
	s.base = nil
	s.siblings = nil
}

// SetData sets data.TYPE.NAME (key "TYPE.NAME").
func (s *Scope) SetData(key string, v cty.Value) { s.Data[key] = v; s.Refresh() }

// SetStep sets the value of a step (key as in Steps).
func (s *Scope) SetStep(key string, v cty.Value) { s.Steps[key] = v; s.Refresh() }

// SetTerraform sets terraform.NAME.
func (s *Scope) SetTerraform(name string, v cty.Value) { s.Terraform[name] = v; s.Refresh() }

// EvalContext returns the context for a top-level expression: var, local,
// data, step (top-level steps), terraform, and each when each is non-nil.
func (s *Scope) EvalContext(each *Each) *hcl.EvalContext {
	if s.base == nil {
		s.base = s.buildBase(true)
	}
	return withEach(s.base, each)
}

// StepEvalContext returns the context for an expression of step st: like
// EvalContext, except that inside a composite step, step.NAME is a sibling
// inner step.
func (s *Scope) StepEvalContext(st *Step, each *Each) *hcl.EvalContext {
	if st == nil || st.Outer == nil {
		return s.EvalContext(each)
	}
	if s.base == nil {
		s.base = s.buildBase(true)
	}
	if s.siblings == nil {
		s.siblings = map[string]*hcl.EvalContext{}
	}
	ctx, ok := s.siblings[st.Outer.Name]
	if !ok {
		sib := map[string]cty.Value{}
		for _, in := range st.Outer.Steps {
			if v, ok := s.Steps[stepKey(in)]; ok {
				sib[in.Name] = v
			}
		}
		ctx = s.base.NewChild()
		ctx.Variables = map[string]cty.Value{"step": objectOrEmpty(sib)}
		s.siblings[st.Outer.Name] = ctx
	}
	return withEach(ctx, each)
}

func withEach(ctx *hcl.EvalContext, each *Each) *hcl.EvalContext {
	if each == nil {
		return ctx
	}
	child := ctx.NewChild()
	key, value := each.Key, each.Value
	if key == cty.NilVal {
		key = cty.UnknownVal(cty.String)
	}
	if value == cty.NilVal {
		value = cty.DynamicVal
	}
	child.Variables = map[string]cty.Value{
		"each": cty.ObjectVal(map[string]cty.Value{"key": key, "value": value}),
	}
	return child
}

// buildBase builds the shared variables. withLocals is false while locals
// are still being evaluated.
func (s *Scope) buildBase(withLocals bool) *hcl.EvalContext {
	vars := map[string]cty.Value{
		"var":       objectOrEmpty(s.Vars),
		"terraform": objectOrEmpty(s.Terraform),
	}
	if withLocals {
		vars["local"] = objectOrEmpty(s.Locals)
	}
	byType := map[string]map[string]cty.Value{}
	for key, v := range s.Data {
		typ, name, ok := strings.Cut(key, ".")
		if !ok {
			continue
		}
		if byType[typ] == nil {
			byType[typ] = map[string]cty.Value{}
		}
		byType[typ][name] = v
	}
	data := map[string]cty.Value{}
	for typ, m := range byType {
		data[typ] = cty.ObjectVal(m)
	}
	vars["data"] = objectOrEmpty(data)
	top := map[string]cty.Value{}
	for key, v := range s.Steps {
		if !strings.Contains(key, ".") {
			top[key] = v
		}
	}
	vars["step"] = objectOrEmpty(top)
	return &hcl.EvalContext{Variables: vars, Functions: functions}
}

func objectOrEmpty(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}
