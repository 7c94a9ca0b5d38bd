package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var outputSchema = bodySchema{Attrs: []attrSchema{
	{Name: "value", Required: true},
	{Name: "description"},
	{Name: "sensitive"},
}}

// decodeOutput decodes `output "NAME" { value = ... }`.
func decodeOutput(b *hclsyntax.Block) (*Output, hcl.Diagnostics) {
	if len(b.Labels) != 1 {
		return nil, nil
	}
	o := &Output{Name: b.Labels[0], DeclRange: blockDeclRange(b)}
	c, diags := decodeBody(hclsyntaxBody(b), outputSchema, "an output block", o.DeclRange)
	o.AttrRanges = c.attrRanges()
	if a := c.Attrs["value"]; a != nil {
		o.Value = a.Expr
	}
	if a := c.Attrs["description"]; a != nil {
		s, _, d := staticString(a, "description")
		diags = append(diags, d...)
		o.Description = s
	}
	if a := c.Attrs["sensitive"]; a != nil {
		v, _, d := staticBool(a, "sensitive")
		diags = append(diags, d...)
		o.Sensitive = v
	}
	diags = append(diags, checkName(o.Name, "output", b.LabelRanges[0])...)
	return o, diags
}
