package lang

import (
	"testing"

	"github.com/zclconf/go-cty/cty"
)

func TestDecodeVariable(t *testing.T) {
	tests := map[string]struct {
		src         string
		wantType    cty.Type
		wantDefault cty.Value
		sensitive   bool
		validations int
	}{
		"untyped required": {
			src:      `variable "v" {}`,
			wantType: cty.DynamicPseudoType, wantDefault: cty.NilVal,
		},
		"default converted to type": {
			src: `variable "v" {
  type    = list(number)
  default = ["1", 2]
}`,
			wantType:    cty.List(cty.Number),
			wantDefault: cty.ListVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2)}),
		},
		"object type": {
			src:      `variable "v" { type = object({ a = string }) }`,
			wantType: cty.Object(map[string]cty.Type{"a": cty.String}), wantDefault: cty.NilVal,
		},
		"sensitive with validations": {
			src: `variable "v" {
  type      = string
  sensitive = true
  validation {
    condition     = var.v != ""
    error_message = "empty"
  }
  validation {
    condition     = strlen(var.v) < 10
    error_message = "long"
  }
}`,
			wantType: cty.String, wantDefault: cty.NilVal, sensitive: true, validations: 2,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rb := mustParse(t, tc.src)
			v := rb.Variable("v")
			if !v.Type.Equals(tc.wantType) {
				t.Errorf("type = %#v, want %#v", v.Type, tc.wantType)
			}
			if tc.wantDefault == cty.NilVal {
				if v.Default != cty.NilVal {
					t.Errorf("default = %#v, want none", v.Default)
				}
			} else if !v.Default.RawEquals(tc.wantDefault) {
				t.Errorf("default = %#v, want %#v", v.Default, tc.wantDefault)
			}
			if v.Sensitive != tc.sensitive || len(v.Validations) != tc.validations {
				t.Errorf("sensitive %v validations %d", v.Sensitive, len(v.Validations))
			}
		})
	}
}
