package executor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// settleRunbook: a servers_healthy wait, then a step whose own
// servers_healthy wait may count the first one's reads, unless the
// second step's action can change the cluster (its effect).
const settleRunbook = `
runbook "settle" {}
step "watch" {
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
  wait "servers_healthy" {
    timeout = "1m"
  }
}
step "verify" {
  depends_on = [step.watch]
  action "exec" {
    command = ["true"]
    effect  = "EFFECT"
  }
  wait "servers_healthy" {
    timeout = "1m"
  }
}
`

// TestLiveSettleLent: on a healthy cluster, the second servers_healthy
// holds at once on the first one's reads after an action that changes
// nothing, and settles for its own 2s after one that may change the
// cluster.
func TestLiveSettleLent(t *testing.T) {
	e := live(t)
	sandboxtest.Timer(t)
	e.waitHealthy(t)
	for _, c := range []struct {
		effect string
		lent   bool
	}{{"none", true}, {"restart", false}} {
		t.Run(c.effect, func(t *testing.T) {
			dir := t.TempDir()
			ev := &eventLog{}
			cfg := e.liveConfig(t, dir, strings.Replace(settleRunbook, "EFFECT", c.effect, 1), ev)
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			log, _ := os.ReadFile(filepath.Join(res.RunDir, LogFile))
			if res.Status != journal.StatusFinished {
				t.Fatalf("%+v\n%s", res, log)
			}
			var start, end time.Time
			ev.mu.Lock()
			for _, x := range ev.ev {
				if x.Addr == "step.verify" && x.Kind == EventActionDone {
					start = x.Time
				}
				if x.Addr == "step.verify" && x.Kind == EventFinished {
					end = x.Time
				}
			}
			ev.mu.Unlock()
			took := end.Sub(start)
			lent := strings.Contains(string(log), "step.verify: wait servers_healthy: held on each of")
			t.Logf("effect %s: the verify wait took %s, lent reads: %v", c.effect, took.Round(time.Millisecond), lent)
			if lent != c.lent {
				t.Errorf("lent reads: %v, want %v\n%s", lent, c.lent, log)
			}
			if settle := cfg.Settle; !c.lent && took < settle {
				t.Errorf("the wait held after %s, less than its settle time %s, without earlier reads", took, settle)
			}
			if c.lent && took >= time.Second {
				t.Errorf("the wait took %s with earlier reads to count", took)
			}
		})
	}
}
