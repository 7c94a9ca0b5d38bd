package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var terraformSchema = bodySchema{Attrs: []attrSchema{{Name: "dir", Required: true}}}

// decodeTerraform decodes `terraform "NAME" { dir = "..." }`. dir may use
// var. and local. references; it is resolved relative to the runbook's
// directory at plan time.
func decodeTerraform(b *hclsyntax.Block) (*Terraform, hcl.Diagnostics) {
	if len(b.Labels) != 1 {
		return nil, nil
	}
	t := &Terraform{Name: b.Labels[0], DeclRange: blockDeclRange(b)}
	c, diags := decodeBody(hclsyntaxBody(b), terraformSchema, "a terraform block", t.DeclRange)
	if a := c.Attrs["dir"]; a != nil {
		t.Dir = a.Expr
	}
	diags = append(diags, checkName(t.Name, "terraform block", b.LabelRanges[0])...)
	return t, diags
}
