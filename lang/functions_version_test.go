package lang

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// TestVersionCompare: version_compare orders by semantic version, not by
// string, and says which argument is not a version.
func TestVersionCompare(t *testing.T) {
	tests := map[string]struct {
		expr string
		want int64
		err  string
	}{
		"older":                 {`version_compare("1.9.4", "1.10.0")`, -1, ""},
		"newer":                 {`version_compare("1.10.0", "1.9.4")`, 1, ""},
		"equal":                 {`version_compare("1.10.0", "1.10.0")`, 0, ""},
		"leading v":             {`version_compare("v1.10.0", "1.10.0")`, 0, ""},
		"missing patch":         {`version_compare("1.10", "1.10.0")`, 0, ""},
		"pre-release is older":  {`version_compare("1.10.0-beta.1", "1.10.0")`, -1, ""},
		"build metadata":        {`version_compare("1.10.0+ent", "1.10.0")`, 0, ""},
		"usable in a condition": {`version_compare("1.10.1", "1.10.0") >= 0 ? 1 : 0`, 1, ""},
		"not a version":         {`version_compare("latest", "1.10.0")`, 0, `"latest" is not a version`},
		"second not a version":  {`version_compare("1.10.0", "")`, 0, `"" is not a version`},
	}
	ctx := &hcl.EvalContext{Functions: functions}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, diags := hclsyntax.ParseExpression([]byte(tc.expr), "x.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			v, diags := e.Value(ctx)
			if tc.err != "" {
				if !diags.HasErrors() || !strings.Contains(diags[0].Detail, tc.err) || diags[0].Subject == nil {
					t.Fatalf("got %v, want an error with %q", diags, tc.err)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if !v.Equals(cty.NumberIntVal(tc.want)).True() {
				t.Errorf("got %#v, want %d", v, tc.want)
			}
		})
	}
}
