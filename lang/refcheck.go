package lang

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// refIndex knows every declared name, to check references before
// evaluating. Evaluating an undeclared reference would also fail, but with
// a generic "Unsupported attribute"; checking first gives a precise message.
type refIndex struct {
	rb        *Runbook
	vars      map[string]*Variable
	locals    map[string]*Local
	data      map[string]*DataSource // "TYPE.NAME"
	terraform map[string]*Terraform
	steps     map[string]*Step // top-level
	usedVars  map[string]bool
}

func newRefIndex(rb *Runbook) *refIndex {
	ix := &refIndex{
		rb:        rb,
		vars:      map[string]*Variable{},
		locals:    map[string]*Local{},
		data:      map[string]*DataSource{},
		terraform: map[string]*Terraform{},
		steps:     map[string]*Step{},
		usedVars:  map[string]bool{},
	}
	for _, v := range rb.Variables {
		ix.vars[v.Name] = v
	}
	for _, l := range rb.Locals {
		ix.locals[l.Name] = l
	}
	for _, d := range rb.Data {
		ix.data[string(d.Type)+"."+d.Name] = d
	}
	for _, t := range rb.Terraforms {
		ix.terraform[t.Name] = t
	}
	for _, s := range rb.Steps {
		ix.steps[s.Name] = s
	}
	return ix
}

// refRules says which references a place allows.
type refRules struct {
	// where names the place for messages, e.g. "a data source filter".
	where string
	// each is true inside a step whose instances come from for_each.
	each bool
	// noEachWhy explains why each is not available here.
	noEachWhy string
	// steps resolves step.NAME; nil means step references are not allowed.
	// Parse already reported unresolved references in step expressions,
	// so stepsReported silences them here.
	steps         map[string]*Step
	stepsReported bool
	// data, local, terraform: whether those roots are allowed.
	data, local, terraform bool
}

// check reports bad references in expr. ok is false when the expression
// must not be evaluated (it would only repeat the problem).
func (ix *refIndex) check(expr hcl.Expression, r refRules) (diags hcl.Diagnostics, ok bool) {
	if expr == nil {
		return nil, false
	}
	ok = true
	bad := func(d *hcl.Diagnostic) {
		diags = append(diags, d)
		ok = false
	}
	notAllowed := func(tr hcl.Traversal, kind string) {
		bad(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Reference not allowed here",
			Detail:   fmt.Sprintf("%s cannot refer to %s (%s), because it is evaluated before those values exist. Use a literal or a var. reference instead.", capitalize(r.where), kind, traversalString(tr)),
			Subject:  tr.SourceRange().Ptr(),
		})
	}
	for _, tr := range expr.Variables() {
		root := tr.RootName()
		attr := func(i int) string {
			if len(tr) > i {
				if a, isAttr := tr[i].(hcl.TraverseAttr); isAttr {
					return a.Name
				}
			}
			return ""
		}
		switch root {
		case "var":
			name := attr(1)
			if name == "" {
				bad(invalidRef(tr, "var.NAME"))
				continue
			}
			if ix.vars[name] == nil {
				bad(&hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to undeclared input variable",
					Detail:   fmt.Sprintf("There is no variable %q.%s Declare it with a variable %q {} block, or fix the name.", name, suggestion(name, sortedKeys(ix.vars)), name),
					Subject:  tr.SourceRange().Ptr(),
				})
				continue
			}
			ix.usedVars[name] = true
		case "local":
			if !r.local {
				notAllowed(tr, "local values")
				continue
			}
			name := attr(1)
			if name == "" {
				bad(invalidRef(tr, "local.NAME"))
				continue
			}
			if ix.locals[name] == nil {
				bad(&hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to undeclared local value",
					Detail:   fmt.Sprintf("There is no local value %q.%s Declare it in a locals {} block, or fix the name.", name, suggestion(name, sortedKeys(ix.locals))),
					Subject:  tr.SourceRange().Ptr(),
				})
			}
		case "data":
			if !r.data {
				notAllowed(tr, "data sources")
				continue
			}
			typ, name := attr(1), attr(2)
			if typ == "" || name == "" {
				bad(invalidRef(tr, "data.TYPE.NAME"))
				continue
			}
			if ix.data[typ+"."+name] == nil {
				cands := sortedKeys(ix.data)
				bad(&hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to undeclared data source",
					Detail:   fmt.Sprintf("There is no data %q %q block.%s Declare it, or fix the reference.", typ, name, dataSuggestion(typ+"."+name, cands)),
					Subject:  tr.SourceRange().Ptr(),
				})
			}
		case "terraform":
			if !r.terraform {
				notAllowed(tr, "terraform directories")
				continue
			}
			name := attr(1)
			if name == "" {
				bad(invalidRef(tr, "terraform.NAME"))
				continue
			}
			if ix.terraform[name] == nil {
				bad(&hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Reference to undeclared terraform block",
					Detail:   fmt.Sprintf("There is no terraform %q block.%s Declare it with terraform %q { dir = \"...\" }, or fix the name.", name, suggestion(name, sortedKeys(ix.terraform)), name),
					Subject:  tr.SourceRange().Ptr(),
				})
			}
		case "step":
			if r.steps == nil {
				notAllowed(tr, "steps")
				continue
			}
			name := attr(1)
			if name == "" || r.steps[name] == nil {
				ok = false
				if !r.stepsReported {
					if name == "" {
						bad(invalidRef(tr, "step.NAME"))
						continue
					}
					bad(&hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Reference to undeclared step",
						Detail:   fmt.Sprintf("There is no step %q.%s Declare it, or fix the name.", name, suggestion(name, sortedKeys(r.steps))),
						Subject:  tr.SourceRange().Ptr(),
					})
				}
			}
		case "each":
			if !r.each {
				bad(&hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  `Reference to "each" in context without for_each`,
					Detail:   r.noEachWhy,
					Subject:  tr.SourceRange().Ptr(),
				})
				continue
			}
			if name := attr(1); name != "key" && name != "value" {
				bad(&hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  `Invalid "each" attribute`,
					Detail:   "each has two attributes: each.key (the instance key, a string) and each.value (the element of for_each).",
					Subject:  tr.SourceRange().Ptr(),
				})
			}
		default:
			bad(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid reference",
				Detail:   fmt.Sprintf("%q is not something a runbook can refer to. References start with var., local., data., step., each. or terraform.%s", root, suggestion(root, []string{"var", "local", "data", "step", "each", "terraform"})),
				Subject:  tr.SourceRange().Ptr(),
			})
		}
	}
	return diags, ok
}

func invalidRef(tr hcl.Traversal, form string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid reference",
		Detail:   fmt.Sprintf("%s is incomplete: write it as %s.", traversalString(tr), form),
		Subject:  tr.SourceRange().Ptr(),
	}
}

func dataSuggestion(given string, cands []string) string {
	best, bestDist := "", 3
	for _, c := range cands {
		if d := levenshtein(given, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean data.%s?", best)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	if s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}
