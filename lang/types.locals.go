package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// decodeLocals decodes one `locals {}` block. Every attribute is a local
// value; there may be several locals blocks, and a name may be declared
// only once across all of them.
func decodeLocals(b *hclsyntax.Block) ([]*Local, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	body := hclsyntaxBody(b)
	for _, nb := range body.Blocks {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unsupported block type",
			Detail:   "A locals block holds only arguments (name = expression). Write the value as an object expression instead: name = { ... }.",
			Subject:  nb.TypeRange.Ptr(),
		})
	}
	var out []*Local
	for _, a := range sortedAttrs(body.Attributes) {
		out = append(out, &Local{Name: a.Name, Expr: a.Expr, DeclRange: a.NameRange})
	}
	return out, diags
}
