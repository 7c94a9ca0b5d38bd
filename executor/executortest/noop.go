package executortest

import (
	"fmt"
	"strings"
)

// NoopRunbook is n chained steps (s0, s1 depending on s0, ...), each a
// `sleep` of 0s: a run whose cost is nrun's own (journal, mirror, events).
func NoopRunbook(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		dep := ""
		if i > 0 {
			dep = fmt.Sprintf("  depends_on = [step.s%d]\n", i-1)
		}
		fmt.Fprintf(&b, "step \"s%d\" {\n%s  action \"sleep\" {\n    duration = \"0s\"\n  }\n}\n", i, dep)
	}
	return b.String()
}
