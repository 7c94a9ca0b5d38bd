package lang

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/nrun-dev/nrun/addrs"
)

var runbookSchema = bodySchema{Attrs: []attrSchema{{Name: "description"}}}

// decodeRunbookMeta decodes `runbook "NAME" { description = "..." }`.
func decodeRunbookMeta(b *hclsyntax.Block) (*RunbookMeta, hcl.Diagnostics) {
	if len(b.Labels) != 1 {
		return nil, nil
	}
	m := &RunbookMeta{Name: b.Labels[0], DeclRange: blockDeclRange(b)}
	c, diags := decodeBody(hclsyntaxBody(b), runbookSchema, "the runbook block", m.DeclRange)
	if a := c.Attrs["description"]; a != nil {
		s, _, d := staticString(a, "description")
		diags = append(diags, d...)
		m.Description = s
	}
	return m, diags
}

// Step returns the step at address a, or nil.
func (rb *Runbook) Step(a addrs.Step) *Step {
	if rb == nil {
		return nil
	}
	for _, s := range rb.Steps {
		if a.Outer == "" && s.Name == a.Name {
			return s
		}
		if a.Outer != "" && s.Name == a.Outer {
			for _, in := range s.Steps {
				if in.Name == a.Name {
					return in
				}
			}
			return nil
		}
	}
	return nil
}

// AllSteps returns every step in preorder: each top-level step, then its
// inner steps, in declaration order.
func (rb *Runbook) AllSteps() []*Step {
	if rb == nil {
		return nil
	}
	out := make([]*Step, 0, len(rb.Steps))
	for _, s := range rb.Steps {
		out = append(out, s)
		out = append(out, s.Steps...)
	}
	return out
}

// DataSource returns the data source with address "data.TYPE.NAME", or nil.
func (rb *Runbook) DataSource(addr string) *DataSource {
	if rb == nil {
		return nil
	}
	for _, d := range rb.Data {
		if d.Addr() == addr {
			return d
		}
	}
	return nil
}

// Variable returns the variable named name, or nil.
func (rb *Runbook) Variable(name string) *Variable {
	if rb == nil {
		return nil
	}
	for _, v := range rb.Variables {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Terraform returns the terraform block named name, or nil.
func (rb *Runbook) Terraform(name string) *Terraform {
	if rb == nil {
		return nil
	}
	for _, t := range rb.Terraforms {
		if t.Name == name {
			return t
		}
	}
	return nil
}
