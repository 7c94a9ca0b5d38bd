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

// clientRestart restarts one client node with an exec; var.op is what the
// exec does to it: "stop" (it does not come back, as a restart whose agent
// has not registered again yet) or "start".
const clientRestart = `
variable "sandbox" {
  type = string
}
variable "nrun" {
  type = string
}
variable "op" {
  type = string
}
data "nomad_nodes" "c2" {
  name = "^c2$"
}
step "restart" {
  for_each = data.nomad_nodes.c2.by_name
  target   = each.value
  action "exec" {
    command = [var.nrun, "sandbox", "client", var.op, each.key, "-dir", var.sandbox]
    effect  = "restart"
  }
  wait "node_ready" {
    timeout = "6s"
  }
}
`

// TestLiveNodeReadyAfterRestart: after an action that restarts a client,
// wait node_ready does not pass on the node's old record. The client is
// stopped by the action and not started again; its record still reads
// ready (the servers mark it down only after missed heartbeats, 10s and
// more), and the wait must time out saying the node has not registered
// again. Then an action that starts it: the wait holds on the new record.
func TestLiveNodeReadyAfterRestart(t *testing.T) {
	e := live(t)
	sandboxtest.Timer(t)
	api := e.api(t)
	t.Cleanup(func() {
		// Leave the shared sandbox whole for the next test.
		if err := e.sb.StartClient(context.Background(), "c2", ""); err != nil && !strings.Contains(err.Error(), "already running") {
			t.Errorf("start c2 again: %v", err)
		}
	})

	dir := t.TempDir()
	ev := &eventLog{}
	cfg := e.liveConfig(t, dir, clientRestart, ev, "sandbox="+e.root, "nrun="+nrunBin, "op=stop")
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != journal.StatusFailed || len(res.Failed) != 1 {
		log, _ := os.ReadFile(filepath.Join(res.RunDir, LogFile))
		ev.mu.Lock()
		for _, x := range ev.ev {
			t.Logf("event %s %s %s ok=%v %s", x.Kind, x.Addr, x.Check, x.OK, x.Message)
		}
		ev.mu.Unlock()
		t.Fatalf("with c2 stopped the run must fail on its wait: %+v\n%s", res, log)
	}
	var msgs []string
	sawOld := false
	ev.mu.Lock()
	for _, x := range ev.ev {
		if x.Kind == EventWait && x.Check == "node_ready" {
			msgs = append(msgs, x.Message)
			if x.OK {
				t.Errorf("node_ready held on c2 while it was stopped: %s", x.Message)
			}
			if strings.Contains(x.Message, "status ready") && strings.Contains(x.Message, "not registered again") {
				sawOld = true
			}
		}
	}
	ev.mu.Unlock()
	t.Logf("wait node_ready while c2 is stopped: %q", msgs)
	if !sawOld {
		t.Fatalf("the wait never saw c2's old record (status ready) and refused it as not registered again: %q", msgs)
	}
	// The record really was the old, ready one: the check was not saved by
	// the servers marking the node down.
	id := nodeIDOf(api, "c2")
	n, _, err := api.Nodes().Info(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("c2 after the failed wait: status %s, status since %s", n.Status, time.Unix(n.StatusUpdatedAt, 0).UTC().Format(time.TimeOnly))

	// The same step, its action starting c2: the wait holds on the record
	// the client registers when it comes back.
	dir2 := t.TempDir()
	ev2 := &eventLog{}
	cfg2 := e.liveConfig(t, dir2, clientRestart, ev2, "sandbox="+e.root, "nrun="+nrunBin, "op=start")
	t0 := time.Now()
	res, err = Run(context.Background(), cfg2)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != journal.StatusFinished {
		log, _ := os.ReadFile(filepath.Join(res.RunDir, LogFile))
		t.Fatalf("with c2 started again the wait must hold: %+v\n%s", res, log)
	}
	n, _, err = api.Nodes().Info(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A client restarts fast (0.3s here): often in the very second the
	// action began, which only the record read before the action tells
	// apart from the old one.
	t.Logf("start action began %s, c2 registered again at %s (same second: %v)", t0.UTC().Format("15:04:05.000"),
		time.Unix(n.StatusUpdatedAt, 0).UTC().Format(time.TimeOnly), n.StatusUpdatedAt == t0.Unix())
	if n.Status != "ready" || n.StatusUpdatedAt < t0.Unix() {
		t.Errorf("c2 after the start: status %s since %d, want ready since %d or later", n.Status, n.StatusUpdatedAt, t0.Unix())
	}
}
