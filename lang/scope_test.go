package lang

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/addrs"
)

func mustParse(t *testing.T, src string) *Runbook {
	t.Helper()
	rb, diags := Parse(map[string][]byte{"x.nrun.hcl": []byte(src)})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return rb
}

func eval(t *testing.T, ctx *hcl.EvalContext, src string) cty.Value {
	t.Helper()
	expr, diags := hclsyntax.ParseExpression([]byte(src), "expr", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return v
}

func TestScopeLocalsOrder(t *testing.T) {
	// Declared in reverse dependency order, across two blocks.
	rb := mustParse(t, `
locals {
  c = "${local.b}-c"
  b = "${local.a}-b"
}
locals {
  a = upper(var.name)
  d = try(local.missing_key["x"], "fallback")
  missing_key = {}
}
variable "name" {
  default = "x"
}
`)
	s, diags := NewScope(rb, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := s.Locals["c"]; !got.RawEquals(cty.StringVal("X-b-c")) {
		t.Errorf("local.c = %#v", got)
	}
	if got := s.Locals["d"]; !got.RawEquals(cty.StringVal("fallback")) {
		t.Errorf("local.d = %#v", got)
	}
	if got := eval(t, s.EvalContext(nil), "local.c"); !got.RawEquals(cty.StringVal("X-b-c")) {
		t.Errorf("local.c via context = %#v", got)
	}
}

func TestScopeLocalsCycle(t *testing.T) {
	rb := mustParse(t, `
locals {
  ok = "fine"
  a  = local.b
  b  = local.c
  c  = local.a
  d  = "${local.a}!"
}
`)
	s, diags := NewScope(rb, nil)
	if len(diags) != 1 || diags[0].Summary != "Cycle in local values" {
		t.Fatalf("got %v", diags)
	}
	if !strings.Contains(diags[0].Detail, "local.a -> local.b -> local.c -> local.a") {
		t.Errorf("cycle path missing from %q", diags[0].Detail)
	}
	if s.Locals["ok"] != cty.StringVal("fine") {
		t.Errorf("local.ok = %#v", s.Locals["ok"])
	}
	for _, n := range []string{"a", "b", "c", "d"} {
		if s.Locals[n].IsKnown() {
			t.Errorf("local.%s should be unknown after the cycle, is %#v", n, s.Locals[n])
		}
	}
}

func TestScopeDefaultsAndUnknowns(t *testing.T) {
	rb := mustParse(t, `
variable "required" { type = number }
variable "defaulted" { default = "d" }
data "nomad_servers" "all" {}
terraform "tf" { dir = "." }
step "a" {
  action "approval" { message = "x" }
}
step "outer" {
  step "inner" {
    action "approval" { message = "x" }
  }
  step "second" {
    action "exec" {
      command = ["echo", step.inner.output]
      effect  = "none"
    }
  }
}
`)
	s, diags := NewScope(rb, map[string]cty.Value{"defaulted": cty.StringVal("given")})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	ctx := s.EvalContext(nil)
	if v := eval(t, ctx, "var.required"); v.IsKnown() || v.Type() != cty.Number {
		t.Errorf("var.required = %#v, want unknown number", v)
	}
	if v := eval(t, ctx, "var.defaulted"); !v.RawEquals(cty.StringVal("given")) {
		t.Errorf("var.defaulted = %#v", v)
	}
	if v := eval(t, ctx, "data.nomad_servers.all.leader"); v.IsKnown() || !v.Type().Equals(ServerType) {
		t.Errorf("leader = %#v", v)
	}
	if v := eval(t, ctx, "terraform.tf.dir"); v.IsKnown() || v.Type() != cty.String {
		t.Errorf("terraform.tf.dir = %#v", v)
	}
	if v := eval(t, ctx, "step.a.output"); v.IsKnown() {
		t.Errorf("step.a.output = %#v", v)
	}

	// Plan time: values are filled in and show after Set.
	s.SetStep("outer.step.inner", cty.ObjectVal(map[string]cty.Value{"output": cty.StringVal("hello")}))
	second := rb.Step(addrs.Step{Outer: "outer", Name: "second"})
	if v := eval(t, s.StepEvalContext(second, nil), "step.inner.output"); !v.RawEquals(cty.StringVal("hello")) {
		t.Errorf("sibling output = %#v", v)
	}
	each := &Each{Key: cty.StringVal("k"), Value: cty.NumberIntVal(7)}
	if v := eval(t, s.StepEvalContext(second, each), "\"${each.key}=${each.value}\""); !v.RawEquals(cty.StringVal("k=7")) {
		t.Errorf("each = %#v", v)
	}
}

func TestScopeBadInput(t *testing.T) {
	rb := mustParse(t, `variable "n" { type = number }`)
	_, diags := NewScope(rb, map[string]cty.Value{"n": cty.StringVal("x")})
	if len(diags) != 1 || diags[0].Summary != "Invalid value for input variable" {
		t.Fatalf("got %v", diags)
	}
}
