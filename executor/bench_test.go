package executor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor/journal"
)

func noopRunbook(n int) string {
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

// TestThousandNoopSteps runs 1,000 chained `sleep 0` steps with the
// journal fsynced before and after each action, and checks that every one
// finished. The speed target (under 2s) is BenchmarkNoopSteps1000's: a
// wall-clock bound in a test fails on a loaded machine and proves nothing.
func TestThousandNoopSteps(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, noopRunbook(1000))
	t0 := time.Now()
	res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, nil))
	took := time.Since(t0)
	if err != nil || res.Status != journal.StatusFinished || len(res.Finished) != 1000 {
		t.Fatalf("%v %+v", err, res)
	}
	t.Logf("1,000 no-op steps with fsync: %s", took)
}

func BenchmarkNoopSteps1000(b *testing.B) {
	dir := b.TempDir()
	rb, inputs, p := planFor(b, dir, noopRunbook(1000))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg := testConfig(b, b.TempDir(), rb, inputs, p, nil)
		if _, err := Run(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
	}
}
