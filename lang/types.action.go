package lang

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// decodeAction decodes `action "TYPE" {}` against ActionSpecs[TYPE].
// For exec, the literal effect argument becomes Action.Effect and is not
// kept in Args; every other argument is kept in Args for Validate and the
// planner to evaluate.
func decodeAction(b *hclsyntax.Block) (*Action, hcl.Diagnostics) {
	if len(b.Labels) != 1 {
		return nil, nil
	}
	var diags hcl.Diagnostics
	act := &Action{
		Type:      b.Labels[0],
		Args:      map[string]*hcl.Attribute{},
		DeclRange: blockDeclRange(b),
		TypeRange: b.LabelRanges[0],
	}
	act.EffectRange = act.DeclRange
	spec, ok := ActionSpecs[act.Type]
	if !ok {
		names := ActionTypes()
		return nil, diags.Append(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown action type",
			Detail:   fmt.Sprintf("There is no action %q.%s The actions are %s.", act.Type, suggestion(act.Type, names), quoteList(names)),
			Subject:  act.TypeRange.Ptr(),
			Context:  act.DeclRange.Ptr(),
		})
	}
	schema := bodySchema{}
	for _, a := range spec.Attrs {
		schema.Attrs = append(schema.Attrs, attrSchema{Name: a.Name, Required: a.Required})
	}
	c, d := decodeBody(hclsyntaxBody(b), schema, fmt.Sprintf("action %q", act.Type), act.DeclRange)
	diags = append(diags, d...)
	act.Effect = spec.Effect
	if spec.EffectOf != nil {
		act.Effect = spec.EffectOf(c.Attrs)
	}
	for name, a := range c.Attrs {
		if spec.DeclaresEffect && name == "effect" {
			continue
		}
		act.Args[name] = a
	}
	if spec.DeclaresEffect {
		if a := c.Attrs["effect"]; a != nil {
			act.EffectRange = a.Expr.Range()
			v, ok, d := staticString(a, "effect")
			diags = append(diags, d...)
			if ok {
				if declarable(Effect(v)) {
					act.Effect = Effect(v)
				} else {
					names := make([]string, len(DeclarableEffects))
					for i, e := range DeclarableEffects {
						names[i] = string(e)
					}
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Invalid effect",
						Detail:   fmt.Sprintf("%q is not an effect an exec action can declare.%s Declare one of %s: what the command does to the step's target, which the safety analysis relies on.", v, suggestion(v, names), quoteListOr(names)),
						Subject:  a.Expr.Range().Ptr(),
					})
				}
			}
		}
	}
	return act, diags
}

func declarable(e Effect) bool {
	for _, d := range DeclarableEffects {
		if d == e {
			return true
		}
	}
	return false
}

// Spec returns the action's schema, or nil for an unknown type.
func (a *Action) Spec() *ActionSpec { return ActionSpecs[a.Type] }
