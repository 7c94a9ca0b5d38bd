package lang

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/addrs"
)

var runbookSchema = bodySchema{Attrs: []attrSchema{
	{Name: "description"},
	{Name: "max_instances"},
	{Name: "max_total_instances"},
}}

// Instance caps. A for_each over a large collection is refused before any
// instance is built: planning a million instances takes minutes and
// gigabytes, and no operation on a cluster needs that many. The defaults
// hold any real fleet; a runbook raises them (up to InstanceCeiling) with
// max_instances and max_total_instances in its runbook block.
const (
	// DefaultMaxInstances caps the instances of one step (its for_each).
	DefaultMaxInstances = 10000
	// DefaultMaxTotalInstances caps the instances of the whole plan,
	// inner steps of composites included.
	DefaultMaxTotalInstances = 100000
	// InstanceCeiling is the largest value either setting accepts.
	InstanceCeiling = 1000000
)

// decodeRunbookMeta decodes `runbook "NAME" { description = "..." }`.
func decodeRunbookMeta(b *hclsyntax.Block) (*RunbookMeta, hcl.Diagnostics) {
	if len(b.Labels) != 1 {
		return nil, nil
	}
	m := &RunbookMeta{Name: b.Labels[0], DeclRange: blockDeclRange(b)}
	c, diags := decodeBody(hclsyntaxBody(b), runbookSchema, "the runbook block", m.DeclRange)
	m.AttrRanges = c.attrRanges()
	if a := c.Attrs["description"]; a != nil {
		s, _, d := staticString(a, "description")
		diags = append(diags, d...)
		m.Description = s
	}
	if a := c.Attrs["max_instances"]; a != nil {
		n, _, d := staticInt(a, "max_instances", 1, InstanceCeiling)
		diags = append(diags, d...)
		m.MaxInstances = n
	}
	if a := c.Attrs["max_total_instances"]; a != nil {
		n, _, d := staticInt(a, "max_total_instances", 1, InstanceCeiling)
		diags = append(diags, d...)
		m.MaxTotalInstances = n
	}
	return m, diags
}

// InstanceLimits returns the instance caps of rb: per step and for the
// whole plan (the runbook block's settings, else the defaults).
func (rb *Runbook) InstanceLimits() (perStep, total int) {
	perStep, total = DefaultMaxInstances, DefaultMaxTotalInstances
	if rb != nil && rb.Meta != nil {
		if rb.Meta.MaxInstances > 0 {
			perStep = rb.Meta.MaxInstances
		}
		if rb.Meta.MaxTotalInstances > 0 {
			total = rb.Meta.MaxTotalInstances
		}
	}
	return perStep, total
}

// ForEachLength returns how many instances a known for_each value makes,
// without building them (a map, object or set); ok is false when the
// value is unknown, null or of another type.
func ForEachLength(v cty.Value) (n int, ok bool) {
	if v == cty.NilVal || !v.IsKnown() || v.IsNull() {
		return 0, false
	}
	t := v.Type()
	switch {
	case t.IsMapType() || t.IsSetType():
		return v.LengthInt(), true
	case t.IsObjectType():
		return len(t.AttributeTypes()), true
	}
	return 0, false
}

// TooManyInstances is the diagnostic for a for_each of n instances over
// the cap of step addr.
func TooManyInstances(addr string, n, limit int, subject hcl.Range) *hcl.Diagnostic {
	raise := fmt.Sprintf("or, if the runbook really acts on that many targets, raise the cap with max_instances = %d in the runbook block", n)
	if n > InstanceCeiling {
		raise = fmt.Sprintf("or split the work over several runs: the cap can be raised to at most %d", InstanceCeiling)
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Too many instances",
		Detail: fmt.Sprintf("The for_each of %s makes %d instances, more than the cap of %d per step, so nrun refuses it before building any instance. Narrow the collection (a data source filter, a slice of it), %s.",
			addr, n, limit, raise),
		Subject: subject.Ptr(),
	}
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
