package executor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// drainEach drains the nodes of pool blue one at a time and makes each
// eligible again.
var drainEach = drainRunbook("blue", 1, "30s", "1m")

// TestLiveWaitStreamFailsClosed runs drains with the stream as the wait
// source while the stream is silent (subscribed, never a frame) or
// refused: the waits still end, on their fallback reads or on blocking
// queries, and a refusal is said once.
func TestLiveWaitStreamFailsClosed(t *testing.T) {
	e := live(t)
	sandboxtest.Timer(t)
	for name, tc := range map[string]struct {
		open    streamFunc
		refused bool
	}{
		"silent": {open: func(ctx context.Context) (<-chan *nomad.Events, error) {
			return make(chan *nomad.Events), nil
		}},
		"refused": {open: func(ctx context.Context) (<-chan *nomad.Events, error) {
			return nil, errors.New("Unexpected response code: 403 (Permission denied)")
		}, refused: true},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ev := &eventLog{}
			cfg := e.liveConfig(t, dir, drainEach, ev)
			cfg.WaitSource = WaitSourceStream
			cfg.WaitFallback = time.Second
			cfg.openStream = tc.open
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			log, _ := os.ReadFile(filepath.Join(res.RunDir, LogFile))
			if res.Status != journal.StatusFinished {
				t.Fatalf("%+v\n%s", res, log)
			}
			said := 0
			for _, x := range ev.ev {
				if x.Kind == EventInfo && strings.Contains(x.Message, "event stream cannot be read") {
					said++
				}
			}
			if tc.refused && said != 1 {
				t.Errorf("the refusal was said %d times, want once", said)
			}
			if !tc.refused {
				if said != 0 {
					t.Errorf("a silent stream was reported refused")
				}
				if !strings.Contains(string(log), "wait source: event stream, 1 subscription(s) opened") {
					t.Errorf("the run did not use the stream:\n%s", log)
				}
			}
		})
	}
}
