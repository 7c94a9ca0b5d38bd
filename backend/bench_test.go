package backend

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/executor/executortest"
	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

// runNoop runs the n no-op steps once with be (nil: local only) and
// returns the wall time and the time between two steps finishing.
func runNoop(t testing.TB, be Backend, n int) (time.Duration, []time.Duration) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "main.nrun.hcl")
	if err := os.WriteFile(path, []byte(executortest.NoopRunbook(n)), 0o644); err != nil {
		t.Fatal(err)
	}
	rb, diags := lang.Load(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	p, diags := planner.Resolve(rb, nil, nil, planner.ResolveOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var mu sync.Mutex
	var done []time.Time
	cfg := executor.Config{Runbook: rb, Plan: p, StateDir: filepath.Join(dir, ".nrun"), BaseDir: dir, RunbookName: path, Heartbeat: -1,
		Events: func(e executor.Event) {
			if e.Kind == executor.EventFinished {
				mu.Lock()
				done = append(done, time.Now())
				mu.Unlock()
			}
		}}
	ctx := context.Background()
	if be != nil {
		l, err := be.Lock(ctx, "apply", LockOptions{Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Release()
		cfg.Guard = l
		cfg.OpenMirror = func(runID string, recs []journal.Record) (executor.Mirror, error) {
			return be.Mirror(ctx, runID, recs, l)
		}
	}
	start := time.Now()
	res, err := executor.Run(ctx, cfg)
	took := time.Since(start)
	if err != nil || res.Status != journal.StatusFinished || len(res.Finished) != n {
		t.Fatalf("%v %+v", err, res)
	}
	var gaps []time.Duration
	for i := 1; i < len(done); i++ {
		gaps = append(gaps, done[i].Sub(done[i-1]))
	}
	return took, gaps
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// TestMirrorCost measures, in one run, what mirroring adds per step: 1,000
// chained no-op steps (five journal records each, every one fsynced and
// mirrored), local only and with each backend.
func TestMirrorCost(t *testing.T) {
	const n = 1000
	localTook, localGaps := runNoop(t, nil, n)
	t.Logf("local:  %s in all, median %s per step", localTook.Round(time.Millisecond), median(localGaps))
	for _, kind := range kinds {
		be := open(t, kind, nil)
		took, gaps := runNoop(t, be, n)
		t.Logf("%-6s  %s in all, median %s per step: +%s per step (median), %.1fx the local run",
			kind+":", took.Round(time.Millisecond), median(gaps), median(gaps)-median(localGaps), float64(took)/float64(localTook))
	}
}

func BenchmarkNoopSteps1000(b *testing.B) {
	for _, kind := range []Kind{Local, Nomad, Consul} {
		b.Run(string(kind), func(b *testing.B) {
			var be Backend
			if kind != Local {
				be = open(b, kind, nil)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				runNoop(b, be, 1000)
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*1000), "µs/step")
		})
	}
}
