package lang

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var variableSchema = bodySchema{
	Attrs: []attrSchema{
		{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"},
	},
	Blocks: []blockSchema{{Type: "validation"}},
}

var validationSchema = bodySchema{Attrs: []attrSchema{
	{Name: "condition", Required: true},
	{Name: "error_message", Required: true},
}}

// decodeVariable decodes `variable "NAME" {}`, as in Terraform: type is a
// type constraint, default a literal converted to it.
func decodeVariable(b *hclsyntax.Block) (*Variable, hcl.Diagnostics) {
	if len(b.Labels) != 1 {
		return nil, nil
	}
	v := &Variable{Name: b.Labels[0], Type: cty.DynamicPseudoType, DeclRange: blockDeclRange(b)}
	c, diags := decodeBody(hclsyntaxBody(b), variableSchema, fmt.Sprintf("variable %q", v.Name), v.DeclRange)
	v.AttrRanges = c.attrRanges()
	diags = append(diags, checkName(v.Name, "variable", b.LabelRanges[0])...)
	if a := c.Attrs["type"]; a != nil {
		t, d := typeexpr.TypeConstraint(a.Expr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			v.Type = t
		}
	}
	if a := c.Attrs["default"]; a != nil {
		v.DefaultRange = a.Expr.Range()
		val, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			cv, err := convert.Convert(val, v.Type)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid default value for variable",
					Detail:   fmt.Sprintf("The default of variable %q does not match its type: %s. Change the default or the type.", v.Name, convertErrText(err)),
					Subject:  a.Expr.Range().Ptr(),
				})
			} else {
				v.Default = cv
			}
		}
	}
	if a := c.Attrs["description"]; a != nil {
		s, _, d := staticString(a, "description")
		diags = append(diags, d...)
		v.Description = s
	}
	if a := c.Attrs["sensitive"]; a != nil {
		s, _, d := staticBool(a, "sensitive")
		diags = append(diags, d...)
		v.Sensitive = s
	}
	for _, vb := range c.Blocks {
		rng := blockDeclRange(vb)
		vc, d := decodeBody(hclsyntaxBody(vb), validationSchema, "a validation block", rng)
		diags = append(diags, d...)
		val := &VariableValidation{DeclRange: rng}
		if a := vc.Attrs["condition"]; a != nil {
			val.Condition = a.Expr
		}
		if a := vc.Attrs["error_message"]; a != nil {
			val.ErrorMessage = a.Expr
			// An empty message would fail a run with nothing to say why.
			if len(a.Expr.Variables()) == 0 {
				if m, d := a.Expr.Value(nil); !d.HasErrors() && m.IsKnown() && !m.IsNull() && m.Type() == cty.String && strings.TrimSpace(m.AsString()) == "" {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Empty validation error_message",
						Detail:   fmt.Sprintf("The error_message of a validation of variable %q is empty, so a value that fails the rule would be refused without saying why. Write a sentence that says what a valid value looks like, such as \"new_version must look like 1.10.2.\"", v.Name),
						Subject:  a.Expr.Range().Ptr(),
					})
				}
			}
		}
		if val.Condition != nil && val.ErrorMessage != nil {
			v.Validations = append(v.Validations, val)
		}
	}
	return v, diags
}

func convertErrText(err error) string {
	if pe, ok := err.(cty.PathError); ok && len(pe.Path) > 0 {
		return fmt.Sprintf("at %s: %s", pathString(pe.Path), pe.Error())
	}
	return err.Error()
}

func pathString(p cty.Path) string {
	s := ""
	for _, step := range p {
		switch st := step.(type) {
		case cty.GetAttrStep:
			s += "." + st.Name
		case cty.IndexStep:
			if st.Key.Type() == cty.String {
				s += fmt.Sprintf("[%q]", st.Key.AsString())
			} else if st.Key.Type() == cty.Number {
				s += "[" + st.Key.AsBigFloat().Text('f', -1) + "]"
			} else {
				s += "[...]"
			}
		}
	}
	if s != "" && s[0] == '.' {
		s = s[1:]
	}
	return s
}

// checkName requires a label to be a valid identifier, since it is used in
// references (step.NAME) and addresses.
func checkName(name, noun string, rng hcl.Range) hcl.Diagnostics {
	if hclsyntax.ValidIdentifier(name) {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid name",
		Detail:   fmt.Sprintf("%q is not a valid %s name. A name must start with a letter or underscore and contain only letters, digits, underscores and dashes.", name, noun),
		Subject:  rng.Ptr(),
	}}
}
