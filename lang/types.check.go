package lang

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var customPreconditionSchema = bodySchema{Attrs: []attrSchema{
	{Name: "condition", Required: true},
	{Name: "error_message", Required: true},
}}

// decodeCheck decodes `precondition "NAME" {}`, a custom `precondition {}`
// or `wait "NAME" {}`.
func decodeCheck(b *hclsyntax.Block, kind CheckKind) (*Check, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	ch := &Check{Kind: kind, Args: map[string]*hcl.Attribute{}, DeclRange: blockDeclRange(b)}
	if len(b.Labels) == 0 {
		if kind != KindPrecondition {
			return nil, nil // the schema requires a label on wait
		}
		ch.NameRange = b.TypeRange
		c, d := decodeBody(hclsyntaxBody(b), customPreconditionSchema, "a custom precondition", ch.DeclRange)
		ch.AttrRanges = c.attrRanges()
		diags = append(diags, d...)
		if a := c.Attrs["condition"]; a != nil {
			ch.Condition = a.Expr
		}
		if a := c.Attrs["error_message"]; a != nil {
			ch.ErrorMessage = a.Expr
		}
		return ch, diags
	}
	ch.Name = b.Labels[0]
	ch.NameRange = b.LabelRanges[0]
	spec, ok := CheckSpecs[ch.Name]
	if !ok {
		names := CheckNames()
		detail := fmt.Sprintf("There is no check named %q.%s The checks are %s.", ch.Name, suggestion(ch.Name, names), quoteList(names))
		if ch.Name == "condition" || kind == KindPrecondition && len(ch.Name) == 0 {
			detail += " For a condition of your own, write precondition { condition = ... error_message = ... } without a name."
		}
		return nil, diags.Append(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown check",
			Detail:   detail,
			Subject:  ch.NameRange.Ptr(),
			Context:  ch.DeclRange.Ptr(),
		})
	}
	what := fmt.Sprintf("precondition %q", ch.Name)
	schema := bodySchema{Attrs: []attrSchema{{Name: checkTimeoutAttr}}}
	if kind == KindWait {
		what = fmt.Sprintf("wait %q", ch.Name)
		schema.Attrs = append(schema.Attrs, attrSchema{Name: checkIntervalAttr})
	}
	for _, a := range spec.Attrs {
		schema.Attrs = append(schema.Attrs, attrSchema{Name: a.Name, Required: a.Required})
	}
	c, d := decodeBody(hclsyntaxBody(b), schema, what, ch.DeclRange)
	ch.AttrRanges = c.attrRanges()
	diags = append(diags, d...)
	for _, a := range sortedHCLAttrs(c.Attrs) {
		switch name := a.Name; name {
		case checkTimeoutAttr:
			if planTimeExpr(a) {
				ch.TimeoutExpr = a.Expr
			} else if v, ok, d := staticDuration(a, "timeout", true); ok {
				ch.Timeout = v
			} else {
				diags = append(diags, d...)
			}
		case checkIntervalAttr:
			if v, ok, d := staticDuration(a, "interval", true); ok {
				ch.Interval = v
			} else {
				diags = append(diags, d...)
			}
		default:
			ch.Args[name] = a
		}
	}
	if len(spec.ExactlyOne) > 0 {
		var set []*hcl.Attribute
		for _, n := range spec.ExactlyOne {
			if a := c.Attrs[n]; a != nil {
				set = append(set, a)
			}
		}
		switch {
		case len(set) == 0:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing required argument",
				Detail:   fmt.Sprintf("%s needs one of %s. Add one of them.", capitalize(what), quoteListOr(spec.ExactlyOne)),
				Subject:  ch.DeclRange.Ptr(),
			})
		case len(set) > 1:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Conflicting arguments",
				Detail:   fmt.Sprintf("%s takes only one of %s, and both %s and %s are set. Remove one of them.", capitalize(what), quoteList(spec.ExactlyOne), set[0].Name, set[1].Name),
				Subject:  set[1].NameRange.Ptr(),
				Context:  ch.DeclRange.Ptr(),
			})
		}
	}
	if kind == KindWait && c.Attrs[checkTimeoutAttr] == nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing wait timeout",
			Detail:   fmt.Sprintf("A wait polls until its check passes, so it needs a limit. Add timeout = \"5m\" (or another duration) to wait %q.", ch.Name),
			Subject:  ch.DeclRange.Ptr(),
		})
	}
	return ch, diags
}
