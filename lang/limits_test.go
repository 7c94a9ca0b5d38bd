package lang

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// TestEvaluationLimits: a call that would build a value past the limits is
// an error diagnostic at the call, raised before the value is built.
func TestEvaluationLimits(t *testing.T) {
	tests := map[string]struct {
		expr string
		err  string // "" when the call must succeed
	}{
		"setproduct of three ranges": {`setproduct(range(1000), range(1000), range(1000))`, "would have 1000000 elements"},
		"setproduct under the limit": {`length(setproduct(range(100), range(100)))`, ""},
		"format width":               {`format("%0999999999d", 1)`, "pads a value to more than"},
		"formatlist precision":       {`formatlist("%.999999999f", [1])`, "pads a value to more than"},
		"format small":               {`format("%08.3f", 1)`, ""},
		"replace empty with long":    {`replace(format("%01000000d", 0), "", format("%0100d", 0))`, "would be a string of"},
		"indent huge":                {`indent(999999999, "a\nb")`, "would be a string of"},
		"concat of a long list":      {`concat(setproduct(range(400), range(200)), setproduct(range(400), range(200)))`, "would have 160000 elements"},
		"join is fine":               {`join(",", [for i in range(1000) : tostring(i)])`, ""},
	}
	ctx := &hcl.EvalContext{Functions: functions}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e, diags := hclsyntax.ParseExpression([]byte(tc.expr), "x.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			_, diags = e.Value(ctx)
			if tc.err == "" {
				if diags.HasErrors() {
					t.Fatal(diags.Error())
				}
				return
			}
			if !diags.HasErrors() {
				t.Fatalf("no error, want %q", tc.err)
			}
			d := diags[0]
			if d.Subject == nil || !strings.Contains(d.Detail, tc.err) {
				t.Errorf("got %s: %s (subject %v), want detail with %q", d.Summary, d.Detail, d.Subject, tc.err)
			}
		})
	}
}
