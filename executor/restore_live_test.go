package executor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	consul "github.com/hashicorp/consul/api"

	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// TestLiveConsulSnapshotRestore restores a Consul snapshot through the
// executor on a sandbox of its own (a restore rewrites the whole state, so
// the shared Consul sandbox is not used): a key written after the snapshot
// is gone afterwards, one written before it is there. Then a restore in
// doubt is not repeated (the probe asks), and a snapshot file replaced
// since the plan is refused.
func TestLiveConsulSnapshotRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sb := sandboxtest.New(t, sandbox.DefaultSpec("", 1, 0, 3, sandbox.DefaultNomadVersion))
	sandboxtest.Timer(t)
	e, cc := consulEnvOf(t, sb)
	put := func(k string) {
		t.Helper()
		if _, err := cc.KV().Put(&consul.KVPair{Key: k, Value: []byte("x")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	present := func(k string) bool {
		t.Helper()
		p, _, err := cc.KV().Get(k, &consul.QueryOptions{RequireConsistent: true})
		if err != nil {
			t.Fatal(err)
		}
		return p != nil
	}

	dir := t.TempDir()
	put("nrun/before")
	save := e.liveConfig(t, dir, `
step "snapshot" {
  action "consul_snapshot_save" {
    path = "c.snap"
  }
}
`, nil)
	if res, err := Run(context.Background(), save); err != nil || res.Status != journal.StatusFinished {
		t.Fatalf("save: %v %+v\n%s", err, res, runLog(res))
	}
	put("nrun/after")

	const restoreSrc = `
step "approve" {
  action "approval" {
    message = "Roll Consul back?"
  }
}
step "restore" {
  depends_on = [step.approve]
  action "consul_snapshot_restore" {
    path = "c.snap"
  }
}
`
	cfg := e.liveConfig(t, dir, restoreSrc, nil)
	if pv := cfg.Plan.Instance("step.restore").Action.Snapshot; pv == nil || pv.Index == 0 || pv.Unavailable != "" {
		t.Fatalf("the plan does not preview the snapshot: %+v", pv)
	}
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	asked := ""
	cfg.Approver = func(_ context.Context, addr, msg string) (bool, error) { asked = addr; return true, nil }
	res, err := Run(context.Background(), cfg)
	if err != nil || res.Status != journal.StatusFinished {
		t.Fatalf("restore: %v %+v\n%s", err, res, runLog(res))
	}
	if asked != "step.approve" {
		t.Errorf("the approval asked for %q", asked)
	}
	if !present("nrun/before") || present("nrun/after") {
		t.Errorf("after the restore: nrun/before present %v (want true), nrun/after present %v (want false)", present("nrun/before"), present("nrun/after"))
	}

	// In doubt: not restored again; the operator decides.
	put("nrun/after")
	doubt := e.liveConfig(t, dir, `
step "restore" {
  allow_unsafe {
    rules  = ["NR-S012"]
    reason = "the test approves"
  }
  action "consul_snapshot_restore" {
    path = "c.snap"
  }
}
`, nil)
	doubt.StateDir = filepath.Join(t.TempDir(), "state")
	probe, reran, res := runInDoubt(t, doubt, "step.restore", "consul_snapshot_restore")
	if probe.Status != string(probeUnknown) || reran || res.Status != journal.StatusPaused {
		t.Fatalf("restore in doubt: probe %+v reran %v %+v\n%s", probe, reran, res, runLog(res))
	}
	if !present("nrun/after") {
		t.Error("the restore in doubt was repeated: nrun/after is gone")
	}

	// Replaced since the plan: refused before anything is sent.
	changed := e.liveConfig(t, dir, restoreSrc, nil)
	changed.StateDir = filepath.Join(t.TempDir(), "state")
	changed.Approver = cfg.Approver
	if res, err := Run(context.Background(), save); err != nil || res.Status != journal.StatusFinished {
		t.Fatalf("save again: %v %+v", err, res)
	}
	res, err = Run(context.Background(), changed)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status == journal.StatusFinished || !strings.Contains(runLog(res), "changed since the plan") {
		t.Fatalf("a snapshot replaced since the plan was restored: %+v\n%s", res, runLog(res))
	}
	if !present("nrun/after") {
		t.Error("the refused restore reached Consul: nrun/after is gone")
	}
	if _, err := os.Stat(filepath.Join(dir, "c.snap")); err != nil {
		t.Fatal(err)
	}
}
