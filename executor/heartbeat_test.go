package executor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor/journal"
)

// TestHeartbeat runs a command and a wait that both hold until the test
// has seen a heartbeat naming them, the wait with its last observation.
func TestHeartbeat(t *testing.T) {
	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "slow" {
  action "exec" {
    command = ["sh", "-c", "while [ ! -f release ]; do sleep 0.02; done"]
    effect  = "none"
  }
}
step "web" {
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
  wait "http_ok" {
    url      = "`+srv.URL+`"
    timeout  = "1m"
    interval = "20ms"
  }
}
`)
	ev := &eventLog{}
	beats := make(chan Event, 100)
	cfg := testConfig(t, dir, rb, inputs, p, nil)
	cfg.Heartbeat = 10 * time.Millisecond
	cfg.Events = func(e Event) {
		ev.add(e)
		if e.Kind == EventHeartbeat {
			select {
			case beats <- e:
			default: // Events must not block; a later beat will do.
			}
		}
	}
	done := make(chan *Result, 1)
	go func() {
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	deadline := time.After(time.Minute)
	for seen := false; !seen; {
		select {
		case e := <-beats:
			var slow, web *Running
			for i := range e.Running {
				switch e.Running[i].Addr {
				case "step.slow":
					slow = &e.Running[i]
				case "step.web":
					web = &e.Running[i]
				}
			}
			seen = slow != nil && web != nil && slow.Action == "exec" && slow.Wait == "" &&
				strings.HasPrefix(web.Wait, "http_ok: ") && strings.Contains(web.Wait, "not ok")
			if seen && (e.RunID == "" || slow.Elapsed <= 0) {
				t.Errorf("heartbeat without run ID or elapsed time: %+v", e)
			}
		case <-deadline:
			t.Fatal("no heartbeat naming step.slow and the wait of step.web")
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	healthy.Store(true)
	res := <-done
	if res == nil || res.Status != journal.StatusFinished {
		t.Fatalf("result %+v", res)
	}
	// After the run no heartbeat may name an instance that had ended.
	ev.mu.Lock()
	defer ev.mu.Unlock()
	ended := map[string]bool{}
	for _, e := range ev.ev {
		switch e.Kind {
		case EventFinished:
			ended[e.Addr] = true
		case EventHeartbeat:
			for _, r := range e.Running {
				if ended[r.Addr] {
					t.Errorf("a heartbeat names %s after it finished", r.Addr)
				}
			}
		}
	}
}
