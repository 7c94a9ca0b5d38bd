package lang

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EnvPrefix starts the name of an environment variable that sets an input
// variable, like terraform's TF_VAR_: NRUN_VAR_name=value sets var.name.
const EnvPrefix = "NRUN_VAR_"

// InputValues is InputValuesEnv without environment variables.
func InputValues(rb *Runbook, vars []string, varFiles []string) (map[string]cty.Value, hcl.Diagnostics) {
	return InputValuesEnv(rb, nil, vars, varFiles)
}

// InputValuesEnv reads input variable values, like terraform: first the
// environment's NRUN_VAR_name=value entries (environ is in os.Environ
// form; entries without the prefix are skipped, as are names the runbook
// does not declare, since one environment serves many runbooks), then
// varFiles (HCL, or JSON when the name ends in .json) in order, then each
// -var NAME=VALUE in order; a later value replaces an earlier one, so the
// environment has the lowest precedence. An environment value is read as
// a -var value is. A -var value
// is taken as a literal string when the variable's type is string or not
// given, and parsed as an HCL expression otherwise (-var 'ports=[1,2]').
// Values are converted to the declared types. A required variable without
// a value is not an error here: it stays unknown until plan time, where the
// planner requires it. InputValues records where each value came from in
// rb.InputRanges.
func InputValuesEnv(rb *Runbook, environ []string, vars []string, varFiles []string) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	out := map[string]cty.Value{}
	if rb == nil {
		rb = &Runbook{}
	}
	if rb.InputRanges == nil {
		rb.InputRanges = map[string]hcl.Range{}
	}
	// Sorted, so that the diagnostics come in the same order every run.
	env := append([]string(nil), environ...)
	sort.Strings(env)
	for _, kv := range env {
		key, raw, ok := strings.Cut(kv, "=")
		name, isVar := strings.CutPrefix(key, EnvPrefix)
		v := rb.Variable(name)
		if !ok || !isVar || v == nil {
			continue
		}
		filename := fmt.Sprintf("<value of %s>", key)
		cv, rng, d := rawInput(v, raw, filename, fmt.Sprintf("Set it as %s='%s'", key, typeExample(v.Type)))
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		out[name] = cv
		rb.InputRanges[name] = rng
	}
	for _, path := range varFiles {
		src, err := os.ReadFile(path)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cannot read variables file",
				Detail:   fmt.Sprintf("%v. Check the -var-file path.", err),
			})
			continue
		}
		var file *hcl.File
		var d hcl.Diagnostics
		if strings.HasSuffix(path, ".json") {
			file, d = hcljson.Parse(src, path)
		} else {
			file, d = hclsyntax.ParseConfig(src, path, hcl.InitialPos)
		}
		diags = append(diags, d...)
		if file == nil || d.HasErrors() {
			continue
		}
		attrs, d := file.Body.JustAttributes()
		diags = append(diags, d...)
		for _, a := range sortedHCLAttrs(attrs) {
			v := rb.Variable(a.Name)
			if v == nil {
				// As in terraform: a shared variables file may set more
				// than one runbook uses, so this is only a warning.
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "Value for undeclared variable",
					Detail:   fmt.Sprintf("The runbook declares no variable %q, so this value is ignored. Remove it, or declare the variable.", a.Name),
					Subject:  a.NameRange.Ptr(),
				})
				continue
			}
			val, d := a.Expr.Value(nil)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			cv, d := convertInput(v, val, a.Expr.Range())
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			out[a.Name] = cv
			rb.InputRanges[a.Name] = a.Expr.Range()
		}
	}
	for _, kv := range vars {
		name, raw, ok := strings.Cut(kv, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid -var option",
				Detail:   fmt.Sprintf("The option -var %q is not of the form NAME=VALUE. Write it as -var 'name=value'.", kv),
			})
			continue
		}
		v := rb.Variable(name)
		if v == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Value for undeclared variable",
				Detail:   fmt.Sprintf("The runbook declares no variable %q.%s Fix the name in -var, or declare the variable.", name, suggestion(name, variableNames(rb))),
			})
			continue
		}
		filename := fmt.Sprintf("<value for var.%s>", name)
		cv, rng, d := rawInput(v, raw, filename, fmt.Sprintf("Pass it as -var '%s=%s'", name, typeExample(v.Type)))
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		out[name] = cv
		rb.InputRanges[name] = rng
	}
	return out, diags
}

// rawInput is the value of v given as text on the command line or in the
// environment, in a pseudo-file of that name: taken literally for a string
// (or untyped) variable, parsed as an HCL expression otherwise, then
// converted to v's type. howTo tells how to write it correctly.
func rawInput(v *Variable, raw, filename, howTo string) (cty.Value, hcl.Range, hcl.Diagnostics) {
	rng := hcl.Range{
		Filename: filename,
		Start:    hcl.InitialPos,
		End:      hcl.Pos{Line: 1, Column: len(raw) + 1, Byte: len(raw)},
	}
	var val cty.Value
	if v.Type == cty.String || v.Type == cty.DynamicPseudoType {
		val = cty.StringVal(raw)
	} else {
		// A bare word such as zz parses as a reference, whose own
		// error ("Variables not allowed") says nothing about -var.
		expr, d := hclsyntax.ParseExpression([]byte(raw), filename, hcl.InitialPos)
		if !d.HasErrors() {
			val, d = expr.Value(nil)
		}
		if d.HasErrors() {
			return cty.NilVal, rng, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Invalid value for input variable",
				Detail:   fmt.Sprintf("var.%s is a %s, and %q is not one written in HCL syntax. %s. Only a string variable takes its value as written; inside a list, map or object, strings need double quotes.", v.Name, v.Type.FriendlyName(), raw, howTo),
			}}
		}
	}
	cv, d := convertInput(v, val, rng)
	return cv, rng, d
}

func convertInput(v *Variable, val cty.Value, rng hcl.Range) (cty.Value, hcl.Diagnostics) {
	cv, err := convert.Convert(val, v.Type)
	if err != nil {
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for input variable",
			Detail:   fmt.Sprintf("The value given for variable %q is not a %s: %s. Pass a value of the declared type.", v.Name, v.Type.FriendlyName(), convertErrText(err)),
			Subject:  rng.Ptr(),
		}}
	}
	return cv, nil
}

func variableNames(rb *Runbook) []string {
	var out []string
	for _, v := range rb.Variables {
		out = append(out, v.Name)
	}
	return out
}

// typeExample is a value of type t as it is written after -var name=.
func typeExample(t cty.Type) string {
	switch {
	case t == cty.Number:
		return "5"
	case t == cty.Bool:
		return "true"
	case t == cty.String:
		return "text"
	case t.IsListType() || t.IsSetType():
		return "[" + typeExampleIn(t.ElementType()) + ", " + typeExampleIn(t.ElementType()) + "]"
	case t.IsMapType():
		return "{ a = " + typeExampleIn(t.ElementType()) + " }"
	case t.IsObjectType():
		var parts []string
		names := make([]string, 0, len(t.AttributeTypes()))
		for n := range t.AttributeTypes() {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			parts = append(parts, n+" = "+typeExampleIn(t.AttributeType(n)))
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	return "..."
}

// typeExampleIn is typeExample inside a collection, where strings are
// quoted.
func typeExampleIn(t cty.Type) string {
	if t == cty.String {
		return `"a"`
	}
	return typeExample(t)
}
