package lang

import "testing"

func TestDecodeOutputTerraformLocalsMeta(t *testing.T) {
	rb := mustParse(t, `
runbook "r" {
  description = "d"
}
terraform "tf" {
  dir = "./infra"
}
locals {
  a = 1
}
output "o" {
  value       = terraform.tf.dir
  description = "the dir"
  sensitive   = true
}
`)
	if rb.Meta == nil || rb.Meta.Name != "r" || rb.Meta.Description != "d" {
		t.Errorf("meta = %+v", rb.Meta)
	}
	if tf := rb.Terraform("tf"); tf == nil || tf.Dir == nil {
		t.Errorf("terraform = %+v", tf)
	}
	if len(rb.Locals) != 1 || rb.Locals[0].Name != "a" {
		t.Errorf("locals = %+v", rb.Locals)
	}
	if len(rb.Outputs) != 1 || !rb.Outputs[0].Sensitive || rb.Outputs[0].Description != "the dir" || rb.Outputs[0].Value == nil {
		t.Errorf("outputs = %+v", rb.Outputs[0])
	}
	if diags := Validate(rb, nil); len(diags) != 0 {
		t.Fatal(diags.Error())
	}
}
