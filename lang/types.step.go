package lang

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/addrs"
)

var stepSchema = bodySchema{
	Attrs: []attrSchema{
		{Name: "for_each"}, {Name: "order"}, {Name: "max_parallel"},
		{Name: "depends_on"}, {Name: "target"}, {Name: "timeout"}, {Name: "on_failure"},
		{Name: "description"}, {Name: "max_failures"}, {Name: "enabled"},
	},
	Blocks: []blockSchema{
		{Type: "retry"},
		{Type: "allow_unsafe"},
		{Type: "precondition", Labels: []string{"name"}, LabelsOptional: true},
		{Type: "action", Labels: []string{"type"}},
		{Type: "wait", Labels: []string{"name"}},
		{Type: "step", Labels: []string{"name"}},
	},
}

var retrySchema = bodySchema{Attrs: []attrSchema{
	{Name: "attempts", Required: true}, {Name: "delay"},
}}

var allowUnsafeSchema = bodySchema{Attrs: []attrSchema{
	{Name: "rules", Required: true}, {Name: "reason", Required: true},
}}

// ruleIDPattern is the shape of a safety rule ID, e.g. NR-S004.
var ruleIDPattern = regexp.MustCompile(`^NR-S[0-9]{3}$`)

// Limits on literal step arguments.
const (
	maxParallelLimit = 100000
	maxRetryAttempts = 100
)

// decodeStep decodes a `step "NAME" {}` block. outer is the composite step
// it is nested in, or nil for a top-level step. Step references (depends_on
// and step.x in expressions) are resolved later by resolveStepRefs, once
// every step is known.
func decodeStep(b *hclsyntax.Block, outer *Step) (*Step, hcl.Diagnostics) {
	if len(b.Labels) != 1 {
		return nil, nil
	}
	s := &Step{
		Name:        b.Labels[0],
		Outer:       outer,
		MaxParallel: 1,
		OnFailure:   OnFailureAbort,
		DeclRange:   blockDeclRange(b),
		Body:        blockRange(b),
	}
	s.Addr = addrs.TopStep(s.Name)
	if outer != nil {
		s.Addr = addrs.Step{Outer: outer.Name, Name: s.Name}
	}
	c, diags := decodeBody(hclsyntaxBody(b), stepSchema, fmt.Sprintf("step %q", s.Name), s.DeclRange)
	s.AttrRanges = c.attrRanges()
	diags = append(diags, checkName(s.Name, "step", b.LabelRanges[0])...)

	// for_each, order and max_parallel shape the instances of a step; an
	// inner step runs once per instance of its composite.
	for _, name := range []string{"for_each", "order", "max_parallel", "max_failures", "enabled"} {
		if a := c.Attrs[name]; a != nil && outer != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Argument not allowed on an inner step",
				Detail:   fmt.Sprintf("Step %q is nested in composite step %q and runs once per instance of it, sharing its each. Move %s to step %q.", s.Name, outer.Name, name, outer.Name),
				Subject:  a.NameRange.Ptr(),
				Context:  a.Range.Ptr(),
			})
			delete(c.Attrs, name)
		}
	}
	if a := c.Attrs["for_each"]; a != nil {
		s.ForEach = a.Expr
	}
	if a := c.Attrs["order"]; a != nil {
		s.OrderRange = a.Expr.Range()
		if v, ok, d := staticString(a, "order"); !ok {
			diags = append(diags, d...)
		} else if v != string(OrderLeaderLast) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid order value",
				Detail:   fmt.Sprintf("%q is not an order. The only order is \"leader_last\", which runs the current leader's instance last; remove order to run instances in key order.", v),
				Subject:  a.Expr.Range().Ptr(),
			})
		} else if s.ForEach == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid use of order",
				Detail:   "order decides the order of a step's for_each instances, and this step has no for_each. Add for_each over servers (such as data.nomad_servers.all.by_name) or remove order.",
				Subject:  a.NameRange.Ptr(),
				Context:  a.Range.Ptr(),
			})
		} else {
			s.Order = OrderLeaderLast
		}
	}
	if a := c.Attrs["max_parallel"]; a != nil && planTimeExpr(a) {
		s.MaxParallel, s.MaxParallelExpr = 0, a.Expr
	} else if a != nil {
		if v, ok, d := staticInt(a, "max_parallel", 1, maxParallelLimit); ok {
			s.MaxParallel = v
		} else {
			diags = append(diags, d...)
		}
	}
	if a := c.Attrs["max_failures"]; a != nil {
		b, d := decodeMaxFailures(a)
		diags = append(diags, d...)
		switch {
		case b != nil && s.ForEach == nil:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid use of max_failures",
				Detail:   "max_failures is how many of a step's for_each instances may fail before the run stops starting new ones, and this step has no for_each. Add for_each, or remove max_failures and use on_failure.",
				Subject:  a.NameRange.Ptr(),
				Context:  a.Range.Ptr(),
			})
		case b != nil:
			s.MaxFailures = b
		}
	}
	if a := c.Attrs["enabled"]; a != nil {
		s.Enabled = a.Expr
	}
	if a := c.Attrs["description"]; a != nil {
		if v, ok, d := staticString(a, "description"); ok {
			s.Description = strings.TrimSpace(v)
		} else {
			diags = append(diags, d...)
		}
	}
	if a := c.Attrs["depends_on"]; a != nil {
		trs, d := dependsOnTraversals(a)
		diags = append(diags, d...)
		s.dependsOn = trs
	}
	if a := c.Attrs["target"]; a != nil {
		s.Target = a.Expr
	}
	if a := c.Attrs["timeout"]; a != nil && planTimeExpr(a) {
		s.TimeoutExpr = a.Expr
	} else if a != nil {
		if v, ok, d := staticDuration(a, "timeout", true); ok {
			s.Timeout = v
		} else {
			diags = append(diags, d...)
		}
	}
	if a := c.Attrs["on_failure"]; a != nil {
		if v, ok, d := staticString(a, "on_failure"); !ok {
			diags = append(diags, d...)
		} else {
			switch OnFailure(v) {
			case OnFailureAbort, OnFailureContinue, OnFailurePause:
				s.OnFailure, s.OnFailureSet = OnFailure(v), true
			default:
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid on_failure value",
					Detail:   fmt.Sprintf("%q is not an on_failure policy. Use \"abort\" (stop the run, the default), \"continue\" (record the failure, run the rest) or \"pause\" (stop and wait for the operator).", v),
					Subject:  a.Expr.Range().Ptr(),
				})
			}
		}
	}

	var actionBlock, firstStep *hclsyntax.Block
	siblings := map[string]hcl.Range{}
	for _, blk := range c.Blocks {
		rng := blockDeclRange(blk)
		switch blk.Type {
		case "retry":
			if s.Retry != nil {
				diags = append(diags, duplicateDiag("retry block", "", s.Retry.DeclRange, rng))
				continue
			}
			r, d := decodeRetry(blk)
			diags = append(diags, d...)
			s.Retry = r
		case "allow_unsafe":
			if s.AllowUnsafe != nil {
				diags = append(diags, duplicateDiag("allow_unsafe block", "", s.AllowUnsafe.DeclRange, rng))
				continue
			}
			u, d := decodeAllowUnsafe(blk)
			diags = append(diags, d...)
			s.AllowUnsafe = u
		case "precondition":
			ch, d := decodeCheck(blk, KindPrecondition)
			diags = append(diags, d...)
			if ch != nil {
				s.Preconditions = append(s.Preconditions, ch)
			}
		case "wait":
			ch, d := decodeCheck(blk, KindWait)
			diags = append(diags, d...)
			if ch != nil {
				s.Waits = append(s.Waits, ch)
			}
		case "action":
			if actionBlock != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate action block",
					Detail:   fmt.Sprintf("A step runs exactly one action, and step %q already has one at %s. Split the work into several steps joined by depends_on, or into inner steps of a composite step.", s.Name, blockDeclRange(actionBlock)),
					Subject:  rng.Ptr(),
				})
				continue
			}
			actionBlock = blk
			act, d := decodeAction(blk)
			diags = append(diags, d...)
			s.Action = act
		case "step":
			if outer != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Steps nested too deeply",
					Detail:   fmt.Sprintf("Step %q is already an inner step of %q, and steps nest only one level deep. Move step %q up into %q, or make it a top-level step.", s.Name, outer.Name, blk.Labels[0], outer.Name),
					Subject:  rng.Ptr(),
					Context:  s.Body.Ptr(),
				})
				continue
			}
			if firstStep == nil {
				firstStep = blk
			}
			inner, d := decodeStep(blk, s)
			diags = append(diags, d...)
			if inner == nil {
				continue
			}
			if first, dup := siblings[inner.Name]; dup {
				diags = append(diags, duplicateDiag("step", inner.Name, first, inner.DeclRange))
				continue
			}
			siblings[inner.Name] = inner.DeclRange
			s.Steps = append(s.Steps, inner)
		}
	}

	switch {
	case actionBlock != nil && firstStep != nil:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Both action and inner steps",
			Detail:   fmt.Sprintf("Step %q has an action block and inner step blocks. A step either runs one action or is a composite of inner steps; move the action into an inner step of its own.", s.Name),
			Subject:  blockDeclRange(actionBlock).Ptr(),
			Context:  s.Body.Ptr(),
		})
	case actionBlock == nil && firstStep == nil && outer != nil && hasNestedStep(b):
		// The only steps were refused as nested too deeply; that error
		// already explains the problem.
	case actionBlock == nil && firstStep == nil:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing action",
			Detail:   fmt.Sprintf("Step %q does nothing. Add one action block, such as action \"exec\" { ... }, or inner step blocks to make it a composite step.", s.Name),
			Subject:  s.DeclRange.Ptr(),
			Context:  s.Body.Ptr(),
		})
	}
	if firstStep != nil && s.Retry != nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Retry not allowed on a composite step",
			Detail:   fmt.Sprintf("Step %q is a composite step; retrying a whole sequence of inner steps is not supported. Put the retry block on the inner steps that may be retried.", s.Name),
			Subject:  s.Retry.DeclRange.Ptr(),
		})
	}
	return s, diags
}

func hasNestedStep(b *hclsyntax.Block) bool {
	for _, blk := range hclsyntaxBody(b).Blocks {
		if blk.Type == "step" {
			return true
		}
	}
	return false
}

// Composite reports whether the step is made of inner steps rather than an
// action.
func (s *Step) Composite() bool { return len(s.Steps) > 0 }

// dependsOnTraversals checks that depends_on is a list of bare step
// references and returns them.
func dependsOnTraversals(a *hcl.Attribute) ([]hcl.Traversal, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	tuple, ok := a.Expr.(*hclsyntax.TupleConsExpr)
	if !ok {
		return nil, diags.Append(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid depends_on",
			Detail:   "depends_on must be a list of step references, such as depends_on = [step.snapshot].",
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	var out []hcl.Traversal
	for _, e := range tuple.Exprs {
		tr, d := hcl.AbsTraversalForExpr(e)
		if d.HasErrors() || tr.RootName() != "step" || len(tr) != 2 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid depends_on reference",
				Detail:   "Each element of depends_on must be a bare step reference such as step.snapshot, without quotes, indexes or attributes.",
				Subject:  e.Range().Ptr(),
			})
			continue
		}
		if _, ok := tr[1].(hcl.TraverseAttr); !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid depends_on reference",
				Detail:   "Each element of depends_on must be a bare step reference such as step.snapshot, without quotes, indexes or attributes.",
				Subject:  e.Range().Ptr(),
			})
			continue
		}
		out = append(out, tr)
	}
	return out, diags
}

func decodeRetry(b *hclsyntax.Block) (*Retry, hcl.Diagnostics) {
	r := &Retry{Attempts: 1, DeclRange: blockDeclRange(b)}
	c, diags := decodeBody(hclsyntaxBody(b), retrySchema, "a retry block", r.DeclRange)
	r.AttrRanges = c.attrRanges()
	if a := c.Attrs["attempts"]; a != nil {
		v, ok, d := staticInt(a, "attempts", 1, maxRetryAttempts)
		diags = append(diags, d...)
		if ok {
			r.Attempts = v
		}
	}
	if a := c.Attrs["delay"]; a != nil {
		v, ok, d := staticDuration(a, "delay", false)
		diags = append(diags, d...)
		if ok {
			r.Delay = v
		}
	}
	return r, diags
}

func decodeAllowUnsafe(b *hclsyntax.Block) (*AllowUnsafe, hcl.Diagnostics) {
	u := &AllowUnsafe{DeclRange: blockDeclRange(b)}
	c, diags := decodeBody(hclsyntaxBody(b), allowUnsafeSchema, "an allow_unsafe block", u.DeclRange)
	u.AttrRanges = c.attrRanges()
	if a := c.Attrs["rules"]; a != nil {
		v, d := staticValue(a, cty.List(cty.String), "rules")
		diags = append(diags, d...)
		if v != cty.NilVal {
			var elemRanges []hcl.Range
			if tuple, ok := a.Expr.(*hclsyntax.TupleConsExpr); ok {
				for _, e := range tuple.Exprs {
					elemRanges = append(elemRanges, e.Range())
				}
			}
			if v.LengthInt() == 0 {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Empty allow_unsafe rules",
					Detail:   "allow_unsafe must name the safety rules it waives, such as rules = [\"NR-S004\"]. Remove the block if nothing needs waiving.",
					Subject:  a.Expr.Range().Ptr(),
				})
			}
			i := 0
			for it := v.ElementIterator(); it.Next(); i++ {
				_, ev := it.Element()
				rng := a.Expr.Range()
				if i < len(elemRanges) {
					rng = elemRanges[i]
				}
				id := ev.AsString()
				if !ruleIDPattern.MatchString(id) {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Invalid safety rule ID",
						Detail:   fmt.Sprintf("%q is not a safety rule ID. IDs look like \"NR-S004\"; nrun validate prints the ID of each rule a step breaks.", id),
						Subject:  rng.Ptr(),
					})
					continue
				}
				u.Rules = append(u.Rules, id)
				u.RuleRanges = append(u.RuleRanges, rng)
			}
		}
	}
	if a := c.Attrs["reason"]; a != nil {
		v, ok, d := staticString(a, "reason")
		diags = append(diags, d...)
		if ok && strings.TrimSpace(v) == "" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Empty allow_unsafe reason",
				Detail:   "Waiving a safety rule needs a reason that a reviewer can judge. Say why the step is safe despite the rule.",
				Subject:  a.Expr.Range().Ptr(),
			})
		}
		u.Reason = v
	}
	return u, diags
}
