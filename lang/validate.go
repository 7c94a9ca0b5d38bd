package lang

import (
	"fmt"
	"regexp"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// Validate checks rb without a cluster: references, the types of every
// expression against its schema, durations, for_each and order, variable
// validation rules (for known values) and unused variables (warning).
// Data sources, steps and terraform outputs are unknown values of their
// types, and each.value is an unknown value of the for_each element type,
// so each expression is evaluated once per step, not once per instance:
// the cost is linear in the size of the runbook. Validate does not repeat
// what Parse reported.
func Validate(rb *Runbook, inputs map[string]cty.Value) hcl.Diagnostics {
	_, diags := ValidateWithScope(rb, inputs)
	return diags
}

// ValidateWithScope is Validate that also returns the Scope it evaluated
// (variables, locals; data and steps unknown), so later passes such as the
// safety analysis reuse it instead of evaluating the locals again, which
// for a large generated local costs as much as the whole validation.
func ValidateWithScope(rb *Runbook, inputs map[string]cty.Value) (*Scope, hcl.Diagnostics) {
	if rb == nil {
		return nil, nil
	}
	sc, ix, diags := newScope(rb, inputs)
	v := &validator{sc: sc, ix: ix, outerTargetType: map[*Step]cty.Type{}, sens: NewSensitivity(rb)}
	v.diags = diags
	v.config()
	for _, st := range rb.Steps {
		v.step(st)
	}
	for _, o := range rb.Outputs {
		v.output(o)
	}
	v.variables()
	return sc, RedactSensitive(rb, v.diags)
}

type validator struct {
	sc    *Scope
	ix    *refIndex
	diags hcl.Diagnostics
	// localRoots caches, per local, the reference roots it depends on
	// transitively ("data", "step", "terraform").
	localRoots map[string]map[string]bool
	// outerTargetType is the type of each composite step's explicit
	// target, inherited by its inner steps.
	outerTargetType map[*Step]cty.Type
	sens            *Sensitivity
}

// eachInfo describes each inside one step.
type eachInfo struct {
	each *Each // nil: no for_each
}

// staticRules are for blocks evaluated before any data source is read:
// nomad, consul, terraform dir and data filters.
func (v *validator) staticRules(where string) refRules {
	return refRules{
		where:     where,
		noEachWhy: fmt.Sprintf("%s is evaluated once for the whole runbook, so there is no current for_each instance. Use a literal or a var. reference.", capitalize(where)),
		local:     true,
	}
}

// namedExpr pairs an argument name with its expression; a slice of them
// keeps diagnostics in a fixed order, which a map would not.
type namedExpr struct {
	name string
	expr hcl.Expression
}

// config validates the nomad, consul, terraform and data blocks.
func (v *validator) config() {
	rb := v.sc.Runbook
	str := AttrSpec{Type: cty.String}
	boolean := AttrSpec{Type: cty.Bool}
	if n := rb.Nomad; n != nil {
		r := v.staticRules("the nomad block")
		for _, a := range []namedExpr{
			{"address", n.Address}, {"region", n.Region}, {"namespace", n.Namespace},
			{"ca_cert", n.CACert}, {"client_cert", n.ClientCert}, {"client_key", n.ClientKey},
			{"tls_server_name", n.TLSServerName},
		} {
			v.staticArg(a.expr, a.name, str, r)
		}
		v.staticArg(n.TLSSkipVerify, "tls_skip_verify", boolean, r)
	}
	if c := rb.Consul; c != nil {
		r := v.staticRules("the consul block")
		for _, a := range []namedExpr{
			{"address", c.Address}, {"scheme", c.Scheme}, {"datacenter", c.Datacenter},
			{"ca_cert", c.CACert}, {"client_cert", c.ClientCert}, {"client_key", c.ClientKey},
			{"tls_server_name", c.TLSServerName},
		} {
			v.staticArg(a.expr, a.name, str, r)
		}
		v.staticArg(c.TLSSkipVerify, "tls_skip_verify", boolean, r)
	}
	for _, t := range rb.Terraforms {
		v.staticArg(t.Dir, "dir", str, v.staticRules("a terraform block"))
	}
	for _, d := range rb.Data {
		r := v.staticRules("a data source filter")
		for _, a := range sortedHCLAttrs(d.Filters) {
			spec := findAttr(DataFilterSpecs[d.Type], a.Name)
			if spec == nil {
				continue
			}
			val := v.staticArg(a.Expr, a.Name, *spec, r)
			if a.Name == "name" && val.IsKnown() && !val.IsNull() && val.Type() == cty.String {
				if _, err := regexp.Compile(val.AsString()); err != nil {
					v.diags = append(v.diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Invalid regular expression",
						Detail:   fmt.Sprintf("The name filter is a regular expression (RE2 syntax), and %q is not one: %v. Escape special characters, or use ^name$ to match one name exactly.", val.AsString(), err),
						Subject:  a.Expr.Range().Ptr(),
					})
				}
			}
		}
	}
}

// staticArg checks an expression of a block evaluated before data sources
// exist. A local it uses must not depend on data, steps or terraform.
func (v *validator) staticArg(e hcl.Expression, name string, spec AttrSpec, r refRules) cty.Value {
	if e == nil {
		return cty.DynamicVal
	}
	d, ok := v.ix.check(e, r)
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
		for _, root := range []string{"data", "step", "terraform"} {
			if v.localDependsOn(a.Name, root) {
				v.diags = append(v.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference not allowed here",
					Detail:   fmt.Sprintf("%s is evaluated before data sources are read and steps run, but local.%s depends on %s values. Use a var. reference or a local that does not depend on %s.", capitalize(r.where), a.Name, root, root),
					Subject:  tr.SourceRange().Ptr(),
				})
				return cty.DynamicVal
			}
		}
	}
	spec.Name = name
	return v.evalArg(e, v.sc.EvalContext(nil), spec)
}

// localDependsOn reports whether local name refers, directly or through
// other locals, to the given root (data, step, terraform).
func (v *validator) localDependsOn(name, root string) bool {
	if v.localRoots == nil {
		v.localRoots = map[string]map[string]bool{}
	}
	var roots func(n string, seen map[string]bool) map[string]bool
	roots = func(n string, seen map[string]bool) map[string]bool {
		if r, ok := v.localRoots[n]; ok {
			return r
		}
		out := map[string]bool{}
		l := v.ix.locals[n]
		if l == nil || seen[n] {
			return out
		}
		seen[n] = true
		for _, tr := range l.Expr.Variables() {
			out[tr.RootName()] = true
		}
		for _, dep := range v.sc.localDeps[n] {
			for r := range roots(dep, seen) {
				out[r] = true
			}
		}
		v.localRoots[n] = out
		return out
	}
	return roots(name, map[string]bool{})[root]
}

// evalArg evaluates e in ctx and checks the value against spec. It
// returns the value, or cty.DynamicVal after an error.
func (v *validator) evalArg(e hcl.Expression, ctx *hcl.EvalContext, spec AttrSpec) cty.Value {
	val, d := e.Value(ctx)
	v.diags = append(v.diags, d...)
	if d.HasErrors() {
		return cty.DynamicVal
	}
	rng := e.Range()
	if val.IsNull() {
		if spec.Required {
			v.diags = append(v.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid null value",
				Detail:   fmt.Sprintf("The argument %q is required and must not be null.", spec.Name),
				Subject:  rng.Ptr(),
			})
			return cty.DynamicVal
		}
		return val
	}
	raw := val
	t := val.Type()
	switch {
	case len(spec.Objects) > 0:
		if t == cty.DynamicPseudoType || t == cty.String {
			break
		}
		match := false
		for _, o := range spec.Objects {
			match = match || t.Equals(o)
		}
		if !match {
			v.diags = append(v.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Incorrect attribute value type",
				Detail:   fmt.Sprintf("The argument %q needs %s, or its name as a string; %s. Refer to an object of the right kind, such as each.value of a for_each over %s.", spec.Name, objectsNoun(spec.Objects), describeValueType(t), objectsSource(spec.Objects[0])),
				Subject:  rng.Ptr(),
			})
			return cty.DynamicVal
		}
	case spec.Type != cty.DynamicPseudoType && spec.Type != cty.NilType:
		cv, err := convert.Convert(val, spec.Type)
		if err != nil {
			v.diags = append(v.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Incorrect attribute value type",
				Detail:   fmt.Sprintf("The argument %q must be a %s; %s.", spec.Name, spec.Type.FriendlyName(), mismatchText(val, err)),
				Subject:  rng.Ptr(),
			})
			return cty.DynamicVal
		}
		val = cv
	}
	if spec.Duration && val.IsKnown() && !val.IsNull() && val.Type() == cty.String {
		if _, err := ParseDuration(val.AsString()); err != nil {
			v.diags = append(v.diags, durationDiag(spec.Name, val.AsString(), err, rng))
			return cty.DynamicVal
		}
	}
	if spec.check != nil {
		msg := spec.check(val)
		if msg == "" && !raw.RawEquals(val) {
			// Conversion may drop what the rule looks for, such as an
			// unknown attribute name in an object.
			msg = spec.check(raw)
		}
		if msg != "" {
			v.diags = append(v.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid argument value",
				Detail:   fmt.Sprintf("The argument %q is not valid. %s", spec.Name, msg),
				Subject:  rng.Ptr(),
			})
			return cty.DynamicVal
		}
	}
	if where, ok := FindNUL(val, !v.sens.Uses(e)); ok {
		v.diags = append(v.diags, NULDiagnostic(spec.Name, where, rng))
		return cty.DynamicVal
	}
	return val
}

func objectsNoun(objs []cty.Type) string {
	var names []string
	for _, o := range objs {
		names = append(names, kindNoun(o))
	}
	switch len(names) {
	case 1:
		return names[0]
	case 2:
		return names[0] + " or " + names[1]
	}
	s := ""
	for i, n := range names {
		switch {
		case i == 0:
			s = n
		case i == len(names)-1:
			s += " or " + n
		default:
			s += ", " + n
		}
	}
	return s
}

func kindNoun(t cty.Type) string {
	switch {
	case t.Equals(ServerType):
		return "a Nomad server object"
	case t.Equals(NodeType):
		return "a Nomad node object"
	case t.Equals(ConsulServerType):
		return "a Consul server object"
	case t.Equals(TerraformType):
		return "a terraform directory (terraform.NAME)"
	}
	return "a " + t.FriendlyName()
}

func objectsSource(t cty.Type) string {
	switch {
	case t.Equals(NodeType):
		return "data.nomad_nodes.NAME.by_name"
	case t.Equals(ConsulServerType):
		return "data.consul_servers.NAME.by_name"
	case t.Equals(TerraformType):
		return "a terraform block"
	}
	return "data.nomad_servers.NAME.by_name"
}

func describeValueType(t cty.Type) string {
	if k := TargetKindOf(t); k != TargetNone {
		return "this is " + kindNoun(t)
	}
	return "this is a " + t.FriendlyName()
}

// stepRules are the reference rules inside step st.
func (v *validator) stepRules(st *Step, ei eachInfo) refRules {
	r := refRules{
		where:         fmt.Sprintf("step %q", st.Name),
		each:          ei.each != nil,
		steps:         v.ix.steps,
		stepsReported: true,
		data:          true, local: true, terraform: true,
	}
	if st.Outer != nil {
		r.steps = map[string]*Step{}
		for _, in := range st.Outer.Steps {
			r.steps[in.Name] = in
		}
		r.noEachWhy = fmt.Sprintf("Inner step %q shares the instances of composite step %q, which has no for_each. Add for_each to step %q, or remove the each reference.", st.Name, st.Outer.Name, st.Outer.Name)
	} else {
		r.noEachWhy = fmt.Sprintf("each is the current element of a for_each, and step %q has no for_each. Add for_each to the step, or refer to the value directly.", st.Name)
	}
	return r
}

// step validates a top-level step and its inner steps.
func (v *validator) step(st *Step) {
	ei := v.forEach(st)
	v.planTimeArgs(st)
	for _, in := range st.Steps {
		v.planTimeArgs(in)
	}
	v.stepBody(st, ei)
	for _, in := range st.Steps {
		v.stepBody(in, ei)
	}
}

// forEach checks a step's for_each and order, and returns what each is.
func (v *validator) forEach(st *Step) eachInfo {
	if st.ForEach == nil {
		return eachInfo{}
	}
	unknownEach := eachInfo{each: &Each{Key: cty.UnknownVal(cty.String), Value: cty.DynamicVal}}
	r := refRules{
		where:     "the for_each argument",
		noEachWhy: "for_each decides the instances, so it is evaluated before there is an each. Refer to the collection directly.",
		data:      true, local: true, terraform: true,
	}
	d, ok := v.ix.check(st.ForEach, r)
	v.diags = append(v.diags, d...)
	if !ok {
		return unknownEach
	}
	if v.sens.Uses(st.ForEach) {
		// Instance keys appear in addresses, which the plan, events, the
		// journal and logs print: a secret key would be shown everywhere.
		v.diags = append(v.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid for_each argument",
			Detail:   fmt.Sprintf("Sensitive values cannot be used as for_each keys: the for_each of %s uses a sensitive variable, and its keys would appear in every instance address, in the plan, the journal and the logs. Key the for_each by a value that is not secret, or, if the keys are not secret, wrap them in nonsensitive(...).", st.Addr),
			Subject:  st.ForEach.Range().Ptr(),
		})
		return unknownEach
	}
	val, d := st.ForEach.Value(v.sc.EvalContext(nil))
	v.diags = append(v.diags, d...)
	if d.HasErrors() {
		return unknownEach
	}
	rng := st.ForEach.Range()
	if n, ok := ForEachLength(val); ok {
		if limit, _ := v.sc.Runbook.InstanceLimits(); n > limit {
			v.diags = append(v.diags, TooManyInstances(st.Addr.String(), n, limit, rng))
			return unknownEach
		}
	}
	t := val.Type()
	bad := func(summary, detail string) eachInfo {
		v.diags = append(v.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  summary,
			Detail:   detail,
			Subject:  rng.Ptr(),
		})
		return unknownEach
	}
	if val.IsKnown() && val.IsNull() {
		return bad("Invalid for_each argument", "for_each is null. Give it a map, a set of strings or an object; use {} for no instances.")
	}
	var elem cty.Type
	switch {
	case t == cty.DynamicPseudoType:
		return unknownEach
	case t.IsMapType():
		elem = t.ElementType()
	case t.IsObjectType() && TargetKindOf(t) != TargetNone:
		// Such as data.nomad_servers.all.leader: an object's attributes
		// would become the instances (["address"], ["host"], ...).
		coll := "data.nomad_servers.NAME.by_name or .followers"
		switch TargetKindOf(t) {
		case TargetNomadNode:
			coll = "data.nomad_nodes.NAME.by_name"
		case TargetConsulServer:
			coll = "data.consul_servers.NAME.by_name or .followers"
		}
		return bad("Invalid for_each argument", fmt.Sprintf("for_each ranges over a single %s, so each of its attributes (id, name, address, ...) would become an instance. Did you mean a collection, such as %s? To act on this one %s, remove for_each and set target to it.", friendly(t), coll, friendly(t)))
	case t.IsObjectType():
		elem = cty.DynamicPseudoType
		var common cty.Type
		same := true
		for _, at := range t.AttributeTypes() {
			if common == cty.NilType {
				common = at
			} else if !common.Equals(at) {
				same = false
			}
		}
		if same && common != cty.NilType {
			elem = common
		}
	case t.IsSetType() && (t.ElementType() == cty.String || t.ElementType() == cty.DynamicPseudoType):
		elem = cty.String
	case t.IsSetType():
		return bad("Invalid for_each argument", fmt.Sprintf("for_each over a set needs a set of strings, which become the keys; this is a %s. Use a map keyed by name instead, such as { for x in ... : x.name => x }.", t.FriendlyName()))
	case isStringList(t):
		return bad("Invalid for_each argument", fmt.Sprintf("for_each needs a map, a set of strings or an object, and this is a %s. Convert it with toset(...) so that each string becomes an instance key.", t.FriendlyName()))
	default:
		return bad("Invalid for_each argument", fmt.Sprintf("for_each needs a map, a set of strings or an object, and this is a %s. Use a map keyed by name, such as data.nomad_servers.all.by_name.", t.FriendlyName()))
	}
	// An element type only known at apply (a map of a dynamic value) may
	// still be servers; an object of mixed attribute types never is.
	unknownElem := elem == cty.DynamicPseudoType && t.IsMapType()
	if st.Order == OrderLeaderLast && !unknownElem && !elem.Equals(ServerType) && !elem.Equals(ConsulServerType) {
		elemNoun := friendly(elem)
		if elem == cty.DynamicPseudoType {
			elemNoun = "value of a different type"
		}
		v.diags = append(v.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid use of order",
			Detail:   fmt.Sprintf("order = \"leader_last\" needs a for_each over servers, such as data.nomad_servers.all.by_name or data.consul_servers.all.by_name, so that the leader's instance can be found; here each element is a %s. Remove order or iterate over servers.", elemNoun),
			Subject:  st.OrderRange.Ptr(),
		})
	}
	return eachInfo{each: &Each{Key: cty.UnknownVal(cty.String), Value: cty.UnknownVal(elem)}}
}

func friendly(t cty.Type) string {
	if k := TargetKindOf(t); k != TargetNone {
		return kindNoun(t)[2:]
	}
	return t.FriendlyName()
}

func isStringList(t cty.Type) bool {
	if t.IsListType() {
		return t.ElementType() == cty.String
	}
	if t.IsTupleType() {
		for _, et := range t.TupleElementTypes() {
			if et != cty.String {
				return false
			}
		}
		return true
	}
	return false
}

// stepBody validates one step's target, checks and action.
func (v *validator) stepBody(st *Step, ei eachInfo) {
	r := v.stepRules(st, ei)
	ctx := v.sc.StepEvalContext(st, ei.each)
	eval := func(e hcl.Expression, spec AttrSpec) cty.Value {
		d, ok := v.ix.check(e, r)
		v.diags = append(v.diags, d...)
		if !ok {
			return cty.DynamicVal
		}
		return v.evalArg(e, ctx, spec)
	}

	targetType := cty.DynamicPseudoType
	if ei.each != nil && TargetKindOf(ei.each.Value.Type()) != TargetNone {
		targetType = ei.each.Value.Type()
	}
	if st.Target == nil && st.Outer != nil && st.Outer.Target != nil {
		targetType = v.outerTargetType[st.Outer]
	}
	if st.Target != nil {
		targetType = cty.DynamicPseudoType
		tv := eval(st.Target, AttrSpec{Name: "target", Type: cty.DynamicPseudoType})
		t := tv.Type()
		if t != cty.DynamicPseudoType && t != cty.String && TargetKindOf(t) == TargetNone && !tv.IsNull() {
			v.diags = append(v.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid target",
				Detail:   fmt.Sprintf("target must be a Nomad server, Nomad node or Consul server object, such as each.value of a for_each over data.nomad_servers.all.by_name, or a name; this is a %s.", t.FriendlyName()),
				Subject:  st.Target.Range().Ptr(),
			})
		} else if TargetKindOf(t) != TargetNone {
			targetType = t
		}
		if st.Composite() {
			v.outerTargetType[st] = targetType
		}
	}

	for _, c := range st.Preconditions {
		v.check(st, c, eval, targetType)
	}
	if a := st.Action; a != nil {
		spec := a.Spec()
		if spec != nil {
			for _, attr := range sortedHCLAttrs(a.Args) {
				as := spec.Attr(attr.Name)
				if as == nil {
					continue
				}
				val := eval(attr.Expr, *as)
				if as.TakesTerraform() {
					v.terraformName(attr, val)
				}
			}
			v.targetFits(st, spec.Target, spec.TargetAttr, spec.TargetOptional, attrObjects(spec.Attr(spec.TargetAttr)), a.Args, targetType, fmt.Sprintf("action %q", a.Type), a.DeclRange)
		}
	}
	for _, c := range st.Waits {
		v.check(st, c, eval, targetType)
	}
}

func (v *validator) check(st *Step, c *Check, eval func(hcl.Expression, AttrSpec) cty.Value, targetType cty.Type) {
	if c.Name == "" {
		if c.Condition != nil {
			cond := eval(c.Condition, AttrSpec{Name: "condition", Type: cty.DynamicPseudoType})
			if t := cond.Type(); t != cty.DynamicPseudoType && t != cty.Bool {
				if _, err := convert.Convert(cond, cty.Bool); err != nil || t != cty.String {
					v.diags = append(v.diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Incorrect attribute value type",
						Detail:   fmt.Sprintf("A precondition's condition must be a bool (true or false), and this is a %s. Write a comparison such as each.value.version != var.new_version.", t.FriendlyName()),
						Subject:  c.Condition.Range().Ptr(),
					})
				}
			}
		}
		if c.ErrorMessage != nil {
			eval(c.ErrorMessage, AttrSpec{Name: "error_message", Type: cty.String})
		}
		return
	}
	spec := CheckSpecs[c.Name]
	if spec == nil {
		return
	}
	for _, attr := range sortedHCLAttrs(c.Args) {
		if as := spec.Attr(attr.Name); as != nil {
			eval(attr.Expr, *as)
		}
	}
	kind := "precondition"
	if c.Kind == KindWait {
		kind = "wait"
	}
	v.targetFits(st, spec.Target, spec.TargetAttr, false, attrObjects(spec.Attr(spec.TargetAttr)), c.Args, targetType, fmt.Sprintf("%s %q", kind, c.Name), c.DeclRange)
}

// targetFits checks that an action or check that acts on an object of
// kind has one: its own argument, or the step's target of a fitting type.
// optional: without the argument and a step target the block still has
// something to act on, but a step target it would act on must fit.
func (v *validator) targetFits(st *Step, kind TargetKind, attr string, optional bool, accepted []cty.Type, args map[string]*hcl.Attribute, targetType cty.Type, what string, decl hcl.Range) {
	if attr == "" || kind == TargetNone || kind == TargetJob || args[attr] != nil {
		return
	}
	if st.EffectiveTarget() == nil {
		if optional {
			return
		}
		v.diags = append(v.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing target",
			Detail:   fmt.Sprintf("%s acts on %s, and neither its %s argument nor the step says which. Set target = ... on the step, give the step a for_each over cluster objects (each.value is then the target), or set %s = ... in the block.", capitalize(what), targetNoun(kind), attr, attr),
			Subject:  decl.Ptr(),
		})
		return
	}
	if targetType == cty.DynamicPseudoType {
		return
	}
	for _, o := range accepted {
		if targetType.Equals(o) {
			return
		}
	}
	v.diags = append(v.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Incompatible target",
		Detail:   fmt.Sprintf("%s acts on %s, but the step's target is %s. Set %s = ... in the block to name the right object, or change the step's target.", capitalize(what), objectsNoun(accepted), kindNoun(targetType), attr),
		Subject:  decl.Ptr(),
	})
}

func targetNoun(k TargetKind) string {
	switch k {
	case TargetNomadServer:
		return "a Nomad server"
	case TargetNomadNode:
		return "a Nomad node"
	case TargetConsulServer:
		return "a Consul agent"
	}
	return "a job"
}

// terraformName checks a string terraform argument names a declared block.
func (v *validator) terraformName(attr *hcl.Attribute, val cty.Value) {
	if val.Type() != cty.String || !val.IsKnown() || val.IsNull() {
		return
	}
	name := val.AsString()
	if v.ix.terraform[name] == nil {
		v.diags = append(v.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Reference to undeclared terraform block",
			Detail:   fmt.Sprintf("There is no terraform %q block.%s Declare it, or write terraform = terraform.NAME for a declared one.", name, suggestion(name, sortedKeys(v.ix.terraform))),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
}

func (v *validator) output(o *Output) {
	if o.Value == nil {
		return
	}
	r := refRules{
		where:     fmt.Sprintf("output %q", o.Name),
		noEachWhy: "Outputs belong to the whole run, so there is no current for_each instance. Refer to a data source or step output instead.",
		steps:     v.ix.steps,
		data:      true, local: true, terraform: true,
	}
	d, ok := v.ix.check(o.Value, r)
	v.diags = append(v.diags, d...)
	if ok {
		v.evalArg(o.Value, v.sc.EvalContext(nil), AttrSpec{Name: "value", Type: cty.DynamicPseudoType})
	}
	if !o.Sensitive && v.sens.Uses(o.Value) {
		// Outputs are printed at the end of apply; as in Terraform, a
		// secret is shown only when the author says so.
		v.diags = append(v.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Output refers to sensitive values",
			Detail:   fmt.Sprintf("The value of output %q is derived from a sensitive variable, directly or through a local, and outputs are printed at the end of nrun apply. Add sensitive = true to the output block to show it as <sensitive>, or, if this part of the value is not secret, wrap it in nonsensitive(...).", o.Name),
			Subject:  o.Value.Range().Ptr(),
		})
	}
}

// variables evaluates validation rules on known values, then warns about
// unused variables. A variable's own validation does not count as a use.
func (v *validator) variables() {
	rb := v.sc.Runbook
	for _, vr := range rb.Variables {
		used := v.ix.usedVars[vr.Name]
		v.variableValidations(vr)
		v.ix.usedVars[vr.Name] = used
	}
	for _, vr := range rb.Variables {
		if !v.ix.usedVars[vr.Name] {
			v.diags = append(v.diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Unused variable",
				Detail:   fmt.Sprintf("Variable %q is declared but nothing refers to var.%s. Remove it, or use it.", vr.Name, vr.Name),
				Subject:  vr.DeclRange.Ptr(),
			})
		}
	}
}

func (v *validator) variableValidations(vr *Variable) {
	val := v.sc.Vars[vr.Name]
	r := refRules{
		where:     fmt.Sprintf("a validation rule of variable %q", vr.Name),
		noEachWhy: "Variable validation rules are evaluated once, outside any step.",
	}
	subject := vr.DeclRange
	if rng, ok := v.sc.Runbook.InputRanges[vr.Name]; ok {
		subject = rng
	} else if vr.DefaultRange != (hcl.Range{}) {
		subject = vr.DefaultRange
	}
	ctx := v.sc.EvalContext(nil)
	for _, vv := range vr.Validations {
		d, ok := v.ix.check(vv.Condition, r)
		v.diags = append(v.diags, d...)
		d2, ok2 := v.ix.check(vv.ErrorMessage, r)
		v.diags = append(v.diags, d2...)
		if !ok || !ok2 || !val.IsWhollyKnown() {
			continue
		}
		cond, d := vv.Condition.Value(ctx)
		v.diags = append(v.diags, d...)
		if d.HasErrors() || !cond.IsKnown() {
			continue
		}
		cb, err := convert.Convert(cond, cty.Bool)
		if err != nil || cb.IsNull() {
			v.diags = append(v.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid validation condition",
				Detail:   fmt.Sprintf("A validation condition must be true or false, and this is a %s. Write a comparison about var.%s.", cond.Type().FriendlyName(), vr.Name),
				Subject:  vv.Condition.Range().Ptr(),
			})
			continue
		}
		if cb.True() {
			continue
		}
		msg := "The value does not satisfy the validation rule."
		if m, d := vv.ErrorMessage.Value(ctx); !d.HasErrors() && m.Type() == cty.String && m.IsKnown() && !m.IsNull() {
			msg = m.AsString()
		}
		v.diags = append(v.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("%s\n\nThis was checked by the validation rule at %s. Pass a value that satisfies it.", msg, vv.DeclRange.String()),
			Subject:  subject.Ptr(),
			Context:  vv.DeclRange.Ptr(),
		})
	}
}

func attrObjects(a *AttrSpec) []cty.Type {
	if a == nil {
		return nil
	}
	return a.Objects
}

// mismatchText explains a failed conversion: where inside the value it
// failed, or what the value is.
func mismatchText(val cty.Value, err error) string {
	if pe, ok := err.(cty.PathError); ok && len(pe.Path) > 0 {
		return fmt.Sprintf("at %s: %s", pathString(pe.Path), pe.Error())
	}
	return "this is a " + val.Type().FriendlyName()
}
