package lang

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/nrun-dev/nrun/addrs"
)

// Expressions returns every expression of the step that is evaluated per
// instance, in a fixed order: for_each, target, preconditions, action
// arguments, waits. Inner steps are not included. Nil expressions are
// skipped.
func (s *Step) Expressions() []hcl.Expression {
	var out []hcl.Expression
	add := func(e hcl.Expression) {
		if e != nil {
			out = append(out, e)
		}
	}
	add(s.ForEach)
	add(s.Target)
	for _, c := range s.Preconditions {
		for _, a := range sortedHCLAttrs(c.Args) {
			add(a.Expr)
		}
		add(c.Condition)
		add(c.ErrorMessage)
	}
	if s.Action != nil {
		for _, a := range sortedHCLAttrs(s.Action.Args) {
			add(a.Expr)
		}
	}
	for _, c := range s.Waits {
		for _, a := range sortedHCLAttrs(c.Args) {
			add(a.Expr)
		}
	}
	return out
}

// resolveStepRefs turns depends_on traversals into DependsOn and collects
// step.x references in expressions into Refs. A top-level step sees the
// top-level steps; an inner step sees its siblings only.
func (p *parser) resolveStepRefs() {
	top := map[string]*Step{}
	for _, s := range p.rb.Steps {
		top[s.Name] = s
	}
	for _, s := range p.rb.Steps {
		p.resolveFor(s, top)
		siblings := map[string]*Step{}
		for _, in := range s.Steps {
			siblings[in.Name] = in
		}
		for _, in := range s.Steps {
			p.resolveFor(in, siblings)
		}
	}
}

func (p *parser) resolveFor(s *Step, scope map[string]*Step) {
	seen := map[addrs.Step]bool{}
	for _, tr := range s.dependsOn {
		name := tr[1].(hcl.TraverseAttr).Name
		target, d := lookupStep(s, scope, name, tr.SourceRange(), true)
		if d != nil {
			p.diags = append(p.diags, d)
			continue
		}
		if !seen[target.Addr] {
			seen[target.Addr] = true
			s.DependsOn = append(s.DependsOn, StepRef{Addr: target.Addr, Range: tr.SourceRange()})
		}
	}
	s.dependsOn = nil

	seen = map[addrs.Step]bool{}
	for _, e := range s.Expressions() {
		for _, tr := range e.Variables() {
			if tr.RootName() != "step" {
				continue
			}
			var name string
			if len(tr) >= 2 {
				if a, ok := tr[1].(hcl.TraverseAttr); ok {
					name = a.Name
				}
			}
			if name == "" {
				p.diags = append(p.diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid step reference",
					Detail:   "A step reference is step.NAME, optionally followed by .output, such as step.snapshot.output.",
					Subject:  tr.SourceRange().Ptr(),
				})
				continue
			}
			target, d := lookupStep(s, scope, name, tr.SourceRange(), false)
			if d != nil {
				p.diags = append(p.diags, d)
				continue
			}
			if !seen[target.Addr] {
				seen[target.Addr] = true
				s.Refs = append(s.Refs, StepRef{Addr: target.Addr, Range: tr.SourceRange()})
			}
		}
	}
}

func lookupStep(from *Step, scope map[string]*Step, name string, rng hcl.Range, dependsOn bool) (*Step, *hcl.Diagnostic) {
	target, ok := scope[name]
	if !ok {
		names := sortedKeys(scope)
		var detail string
		if from.Outer != nil {
			detail = fmt.Sprintf("Inside composite step %q, step.%s refers to a sibling inner step, and there is no inner step %q.%s To order the composite after a top-level step, put depends_on on step %q.", from.Outer.Name, name, name, suggestion(name, names), from.Outer.Name)
		} else {
			detail = fmt.Sprintf("There is no step %q.%s Declare it, or fix the name.", name, suggestion(name, names))
		}
		return nil, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Reference to undeclared step",
			Detail:   detail,
			Subject:  rng.Ptr(),
		}
	}
	if target == from {
		detail := fmt.Sprintf("Step %q refers to itself here, so it would have to run before itself. Remove the reference", from.Name)
		if dependsOn {
			detail += " from depends_on."
		} else {
			detail += "; a step cannot use its own output."
		}
		return nil, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Step depends on itself",
			Detail:   detail,
			Subject:  rng.Ptr(),
		}
	}
	return target, nil
}

// EffectiveTarget returns the expression that gives the step's target: its
// own target, else (for an inner step) its composite's target, else
// each.value when the step or its composite has for_each. It returns nil
// when the step has no target. The planner evaluates it per instance; a
// value that is not a server or node object means "no target".
func (s *Step) EffectiveTarget() hcl.Expression {
	if s.Target != nil {
		return s.Target
	}
	if s.Outer != nil {
		return s.Outer.EffectiveTarget()
	}
	if s.ForEach != nil {
		rng := s.ForEach.Range()
		return &hclsyntax.ScopeTraversalExpr{
			Traversal: hcl.Traversal{
				hcl.TraverseRoot{Name: "each", SrcRange: rng},
				hcl.TraverseAttr{Name: "value", SrcRange: rng},
			},
			SrcRange: rng,
		}
	}
	return nil
}
