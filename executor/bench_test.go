package executor

import (
	"context"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor/executortest"
	"github.com/nrun-dev/nrun/executor/journal"
)

// TestThousandNoopSteps runs 1,000 chained `sleep 0` steps with the
// journal fsynced before and after each action, and checks that every one
// finished. The speed target (under 2s) is BenchmarkNoopSteps1000's: a
// wall-clock bound in a test fails on a loaded machine and proves nothing.
func TestThousandNoopSteps(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, executortest.NoopRunbook(1000))
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
	rb, inputs, p := planFor(b, dir, executortest.NoopRunbook(1000))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg := testConfig(b, b.TempDir(), rb, inputs, p, nil)
		if _, err := Run(context.Background(), cfg); err != nil {
			b.Fatal(err)
		}
	}
}
