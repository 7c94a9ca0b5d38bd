package executor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// liveConsul is a shared sandbox with one Nomad server and three Consul
// servers, and the environment (NOMAD_ADDR, CONSUL_HTTP_ADDR of consul1)
// that points nrun at it.
func liveConsul(t *testing.T) (liveEnv, *consul.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	return consulEnvOf(t, sandboxtest.Shared(t, "executor-consul", sandbox.DefaultSpec("", 1, 0, 3, sandbox.DefaultNomadVersion)))
}

// consulEnvOf is the environment sb prints (NOMAD_ADDR, CONSUL_HTTP_ADDR,
// ...) that points nrun at it, and a Consul client of its
// CONSUL_HTTP_ADDR.
func consulEnvOf(t *testing.T, sb *sandbox.Cluster) (liveEnv, *consul.Client) {
	t.Helper()
	e := liveEnv{sb: sb, root: sb.Root(), env: map[string]string{}}
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		e.env[k] = v
	}
	cc, err := consul.NewClient(&consul.Config{Address: e.env["CONSUL_HTTP_ADDR"]})
	if err != nil {
		t.Fatal(err)
	}
	return e, cc
}

// runInDoubt writes a journal whose run died right after the intent of
// addr's action, resumes it and returns the probe's record and whether the
// action ran again.
func runInDoubt(t *testing.T, cfg Config, addr, action string) (probe journal.Record, reran bool, res *Result) {
	t.Helper()
	runID := "20260101T000000Z-000001"
	os.MkdirAll(RunDir(cfg.StateDir, runID), 0o700)
	j, err := journal.Open(filepath.Join(RunDir(cfg.StateDir, runID), journal.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Append(journal.Record{Kind: journal.KindRun, RunID: runID, Runbook: cfg.RunbookName, SourceHash: cfg.Plan.Runbook.SourceHash, Instances: planAddrs(cfg.Plan)},
		journal.Record{Kind: journal.KindIntent, Addr: addr, Action: action, Attempt: 1})
	j.Close()
	cfg.Resume = true
	res, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	recs, _ := journal.Read(filepath.Join(res.RunDir, journal.FileName))
	for _, r := range recs {
		if r.Kind == journal.KindProbe && r.Addr == addr {
			probe = r
		}
		if r.Kind == journal.KindIntent && r.Addr == addr && r.Seq > 2 {
			reran = true
		}
	}
	if probe.Kind == "" {
		t.Fatalf("no probe for %s: %+v", addr, recs)
	}
	t.Logf("probe of %s: %s: %s", addr, probe.Status, probe.Detail)
	return probe, reran, res
}

func runLog(res *Result) string {
	if res == nil {
		return ""
	}
	b, _ := os.ReadFile(filepath.Join(res.RunDir, LogFile))
	return string(b)
}

// TestLiveConsulActions runs consul_snapshot_save, consul_maintenance,
// consul_force_leave and consul_raft_remove_peer through the executor on a
// sandbox with Consul, then resumes runs whose intent was journalled
// without its completion.
func TestLiveConsulActions(t *testing.T) {
	e, cc := liveConsul(t)
	sandboxtest.Timer(t)
	self, err := cc.Agent().NodeName()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Agent().DisableNodeMaintenance() })

	dir := t.TempDir()
	ev := &eventLog{}
	cfg := e.liveConfig(t, dir, `
variable "node" {
  type = string
}
step "snapshot" {
  action "consul_snapshot_save" {
    path = "backups/consul.snap"
  }
}
step "maint" {
  depends_on = [step.snapshot]
  target     = var.node
  action "consul_maintenance" {
    reason = "nrun test"
  }
}
step "gone" {
  depends_on = [step.maint]
  target     = "ghost"
  action "consul_force_leave" {}
  allow_unsafe {
    rules  = ["NR-S001", "NR-S004", "NR-S007"]
    reason = "the node does not exist"
  }
}
`, ev, "node="+self)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != journal.StatusFinished {
		t.Fatalf("%+v\n%s", res, runLog(res))
	}
	path := filepath.Join(dir, "backups", "consul.snap")
	data, err := os.ReadFile(path)
	if err != nil || len(data) < 100 {
		t.Fatalf("snapshot file: %d bytes, %v", len(data), err)
	}
	sum := sha256.Sum256(data)
	want := "sha256:" + hex.EncodeToString(sum[:])
	recs, _ := journal.Read(filepath.Join(res.RunDir, journal.FileName))
	var digest, gone string
	for _, r := range recs {
		if r.Kind == journal.KindActionDone && r.Addr == "step.snapshot" {
			digest = r.Digest
		}
		if r.Kind == journal.KindActionDone && r.Addr == "step.gone" {
			gone = r.Detail
		}
	}
	if digest != want {
		t.Errorf("journalled digest %q, file's %q", digest, want)
	}
	if !strings.Contains(gone, "already left") {
		t.Errorf("force-leave of a non-member: %q", gone)
	}
	// consul1's own agent carries the maintenance check now.
	checks, err := cc.Agent().Checks()
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := checks["_node_maintenance"]; !ok || c.Notes != "nrun test" {
		t.Errorf("node %s is not in maintenance: %+v", self, checks)
	}

	// Leave maintenance through the action too.
	dir2 := t.TempDir()
	cfg2 := e.liveConfig(t, dir2, `
variable "node" {
  type = string
}
step "unmaint" {
  target = var.node
  action "consul_maintenance" {
    enable = false
  }
}
`, nil, "node="+self)
	res, err = Run(context.Background(), cfg2)
	if err != nil || res.Status != journal.StatusFinished {
		t.Fatalf("%v %+v\n%s", err, res, runLog(res))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		checks, err := cc.Agent().Checks()
		if err == nil {
			if _, ok := checks["_node_maintenance"]; !ok {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s still in maintenance: %v %+v", self, err, checks)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// In doubt: a snapshot is taken again (probe says redo).
	dir3 := t.TempDir()
	cfg3 := e.liveConfig(t, dir3, `
step "snapshot" {
  action "consul_snapshot_save" {
    path = "c.snap"
  }
}
`, nil)
	probe, reran, res := runInDoubt(t, cfg3, "step.snapshot", "consul_snapshot_save")
	if res.Status != journal.StatusFinished || probe.Status != string(probeRedo) || !reran {
		t.Fatalf("snapshot in doubt: probe %+v reran %v %+v\n%s", probe, reran, res, runLog(res))
	}
	if _, err := os.Stat(filepath.Join(dir3, "c.snap")); err != nil {
		t.Fatal(err)
	}

	// In doubt: a removal whose peer is gone is done, not run again.
	dir4 := t.TempDir()
	cfg4 := e.liveConfig(t, dir4, `
step "remove" {
  target = "ghost"
  action "consul_raft_remove_peer" {}
  allow_unsafe {
    rules  = ["NR-S001", "NR-S004", "NR-S007"]
    reason = "test of the resume probe"
  }
}
`, nil)
	probe, reran, res = runInDoubt(t, cfg4, "step.remove", "consul_raft_remove_peer")
	if res.Status != journal.StatusFinished || probe.Status != string(probeDone) || reran {
		t.Fatalf("removal in doubt: probe %+v reran %v %+v\n%s", probe, reran, res, runLog(res))
	}

}
