package lang

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// FailureBudget is a for_each step's max_failures: how many of its
// instances may fail before the run stops starting new ones. It follows
// Ansible's max_fail_percentage: the budget is exceeded only when the
// failures are strictly more than it, so "max_failures = 2" tolerates two
// failed instances and the third exceeds it, and "25%" of 8 instances
// tolerates two (25%) and not three (37.5%).
type FailureBudget struct {
	// N is the count, or the percentage when Percent is set.
	N       int
	Percent bool
	Range   hcl.Range
}

// String is the budget as written: "2" or "25%".
func (b FailureBudget) String() string {
	if b.Percent {
		return strconv.Itoa(b.N) + "%"
	}
	return strconv.Itoa(b.N)
}

// Exceeded reports whether failed failures out of total instances exceed
// the budget (strictly more than it).
func (b FailureBudget) Exceeded(failed, total int) bool {
	if b.Percent {
		return failed*100 > b.N*total
	}
	return failed > b.N
}

// decodeMaxFailures reads max_failures: a whole number of instances, or a
// string holding one or a percentage ("25%").
func decodeMaxFailures(a *hcl.Attribute) (*FailureBudget, hcl.Diagnostics) {
	v, diags := staticValue(a, cty.DynamicPseudoType, "max_failures")
	if v == cty.NilVal {
		return nil, diags
	}
	var text string
	switch v.Type() {
	case cty.Number:
		text = v.AsBigFloat().Text('f', -1)
	case cty.String:
		text = strings.TrimSpace(v.AsString())
	default:
		text = v.Type().FriendlyName()
	}
	num, pct := strings.CutSuffix(text, "%")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || (pct && n > 100) || n > maxParallelLimit || (pct && v.Type() != cty.String) {
		return nil, diags.Append(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid max_failures value",
			Detail:   fmt.Sprintf("%s is not a failure budget. Write a number of instances, such as max_failures = 2, or a percentage of the step's instances from 0%% to 100%%, such as max_failures = \"25%%\".", strconv.Quote(text)),
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	return &FailureBudget{N: n, Percent: pct, Range: a.Expr.Range()}, diags
}
