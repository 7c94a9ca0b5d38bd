package upgrades

import (
	"context"
	"fmt"
	"github.com/nrun-dev/nrun/e2e/e2etest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// TestNomadServerRollback runs runbooks/nomad-server-rollback.nrun.hcl end
// to end after an upgrade that failed on its second server.
//
// A fresh sandbox of three Nomad 1.9.4 servers and two clients runs the
// demo job. The rolling upgrade to 1.10.0 runs as written, except that the
// 1.10.0 binary it starts servers on is a wrapper that starts the real
// one the first time and refuses to start the second time (a bad binary
// on the second host): the first follower comes back on 1.10.0, the
// second stays down, and the run fails there. A Nomad
// Variable written before the upgrade is in its snapshot; one written
// after it is not.
//
// Leadership is then moved to the upgraded server, as an election during
// the incident can do. The rollback brings the down server back on 1.9.4,
// moves leadership off the upgraded one and rolls it back, and pauses at
// its approval; resumed with
// -approve, it restores the pre-upgrade snapshot. The test asserts every
// server on 1.9.4, alive, a voter, autopilot healthy with failure
// tolerance 1 and a leader; the demo job running; the variable written
// after the snapshot gone and the one before it present (the restore
// really happened); and a quorum watcher that followed both runs never saw
// fewer voters up than a quorum.
func TestNomadServerRollback(t *testing.T) {
	sandboxtest.Require(t, sandbox.DefaultSpec("", 1, 0, 0, sandbox.DefaultNomadVersion))
	e := newEnv(t, sandbox.DefaultSpec("", 3, 2, 0, sandbox.OldNomadVersion))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := e.SB.RunDemoJob(ctx); err != nil {
		t.Fatal(err)
	}
	e.WaitRunning(sandbox.DemoJob, 2, 3*time.Minute)
	rb := e2etest.CopyRunbook(t, e.Dir, "nomad-server-rolling-upgrade.nrun.hcl", "nomad-server-rollback.nrun.hcl", "sandbox.nrunvars.hcl")
	upgrade, rollback := rb, filepath.Join(filepath.Dir(rb), "nomad-server-rollback.nrun.hcl")
	vars := filepath.Join(filepath.Dir(rb), "sandbox.nrunvars.hcl")
	nc := e.Nomad()
	putVar(t, nc, "rollback/before", "in the snapshot")

	// The bad binary: the real 1.10.0 for its first agent start, a refusal
	// for the second. `version` and every other command pass through.
	real, err := (&sandbox.Binaries{}).Path(ctx, sandbox.Nomad, sandbox.DefaultNomadVersion)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "nomad-1.10.0-bad")
	counter := bad + ".starts"
	script := fmt.Sprintf(`#!/bin/sh
if [ "$1" = agent ]; then
  n=$(cat %[1]q 2>/dev/null || echo 0)
  n=$((n + 1))
  echo "$n" > %[1]q
  if [ "$n" -ge 2 ]; then
    echo "nomad: this 1.10.0 binary is broken on this host (start $n); refusing to start" >&2
    exit 1
  fi
fi
exec %[2]q "$@"
`, counter, real)
	if err := os.WriteFile(bad, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	badEnv := sandbox.EnvName(sandbox.Nomad, sandbox.DefaultNomadVersion)
	e.Vars[badEnv] = bad

	w := e2etest.WatchQuorumAnswering(t, e.Env)
	watching := true
	defer func() {
		if watching {
			w.Stop()
		}
	}()

	up := e.Nrun("apply", "-no-color", "-auto-approve", "-var-file", vars, upgrade)
	t.Logf("the upgrade ran %s and exited %d", up.Took.Round(time.Millisecond), up.Code)
	// The inner start step fails; it sets no on_failure, so it follows
	// its composite's on_failure = "pause": the run pauses there (exit 3)
	// instead of failing.
	if up.Code != 3 || !strings.Contains(up.Stdout, "step.start: FAILED") || !strings.Contains(up.Stdout, "step.start: PAUSED") || !strings.Contains(up.Stdout+up.Stderr, "refusing to start") {
		t.Fatalf("want the upgrade paused (exit 3) by the second server's start on the broken binary: %s", up)
	}
	m := regexp.MustCompile(`run (\S+): paused`).FindStringSubmatch(up.Stdout)
	if m == nil {
		t.Fatalf("the paused upgrade does not name its run: %s", up)
	}
	// The operator decides to roll back instead of resuming: the paused
	// upgrade is given up for good, so nobody resumes it after the
	// rollback.
	ab := e.Nrun("apply", "-abandon", m[1], upgrade)
	if ab.Code != 0 || !strings.Contains(ab.Stderr, "run "+m[1]+" abandoned") {
		t.Fatalf("abandon the paused upgrade %s: %s", m[1], ab)
	}
	if r := e.Nrun("apply", "-no-color", "-resume", "-var-file", vars, upgrade); r.Code == 0 || !strings.Contains(r.Stdout+r.Stderr, "abandoned") {
		t.Errorf("the abandoned upgrade must not resume: %s", r)
	}
	st := e.SB.Status()
	var upgraded, down []string
	for _, s := range st.Servers {
		switch {
		case !s.Running:
			down = append(down, s.Name)
		case s.Build == sandbox.DefaultNomadVersion:
			upgraded = append(upgraded, s.Name)
		}
	}
	if len(upgraded) != 1 || len(down) != 1 {
		t.Fatalf("after the failed upgrade want one server on %s and one down, got upgraded %q, down %q: %+v", sandbox.DefaultNomadVersion, upgraded, down, st.Servers)
	}
	t.Logf("after the failed upgrade: %s on %s, %s down", upgraded[0], sandbox.DefaultNomadVersion, down[0])
	snap := filepath.Join(filepath.Dir(rb), "nomad-pre-upgrade.snap")
	if fi, err := os.Stat(snap); err != nil || fi.Size() == 0 {
		t.Fatalf("the upgrade's snapshot %s: %v", snap, err)
	}
	// The operator rolls back once the cluster shows the server down.
	// Gossip marks it failed some seconds after its process is gone, each
	// server on its own, autopilot stops calling it healthy only after
	// that (and then removes it from Raft: cleanup_dead_servers is on by
	// default). Until then every read, the plan's and quorum_ok's, sees a
	// healthy live voter, so wait until what nrun reads (through the same
	// address) and every running server's gossip agree that it is down.
	e2etest.Eventually(t, down[0]+" seen down by the cluster", 2*time.Minute, func() (bool, string) {
		h, _, err := nc.Operator().AutopilotServerHealth(nil)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range h.Servers {
			if e2etest.TrimRegion(s.Name) == down[0] && s.Healthy {
				return false, "autopilot still calls it healthy"
			}
		}
		for _, a := range e.SB.Agents() {
			if a.Kind != sandbox.NomadServer || a.PID == 0 || a.Name == down[0] {
				continue
			}
			c, err := e.SB.NomadClientFor(a.Name)
			if err != nil {
				return false, err.Error()
			}
			ms, err := c.Agent().Members()
			if err != nil {
				return false, a.Name + ": " + err.Error()
			}
			for _, m := range ms.Members {
				if e2etest.TrimRegion(m.Name) == down[0] && m.Status == "alive" {
					return false, a.Name + " still sees it alive"
				}
			}
		}
		return true, ""
	})
	// Leadership moved to the upgraded server during the incident (an
	// election while a server was down can do that): the rollback must
	// move it off before that server goes down, and roll it back last.
	rc, err := nc.Operator().RaftGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	var upgradedID string
	for _, p := range rc.Servers {
		if e2etest.TrimRegion(p.Node) == upgraded[0] {
			upgradedID = string(p.ID)
		}
	}
	if upgradedID == "" {
		t.Fatalf("%s is not in the Raft configuration: %+v", upgraded[0], rc.Servers)
	}
	e2etest.Eventually(t, upgraded[0]+" leads", time.Minute, func() (bool, string) {
		leader, err := e.SB.Leader()
		if err == nil && e2etest.TrimRegion(leader) == upgraded[0] {
			return true, ""
		}
		if err := nc.Operator().RaftTransferLeadershipByID(upgradedID, nil); err != nil {
			return false, "transfer: " + err.Error()
		}
		return false, fmt.Sprintf("leader %q, %v", leader, err)
	})
	// Written after the snapshot: the restore must take it away.
	putVar(t, nc, "rollback/after", "not in the snapshot")
	delete(e.Vars, badEnv)

	// The plan names what the restore rolls back to.
	pl := e.MustNrun("plan", "-no-color", "-var-file", vars, rollback)
	for _, want := range []string{"< step.restore", "restores the state at Raft index", `step.recover["` + down[0] + `.global"]`, `step.rollback["` + upgraded[0] + `.global"]`} {
		if !strings.Contains(pl.Stdout, want) {
			t.Errorf("the rollback plan lacks %q:\n%s", want, pl.Stdout)
		}
	}

	first := e.Nrun("apply", "-no-color", "-auto-approve", "-var-file", vars, rollback)
	t.Logf("the rollback ran %s up to its approval and exited %d", first.Took.Round(time.Millisecond), first.Code)
	if first.Code != 3 || !strings.Contains(first.Stdout+first.Stderr, "step.approve_restore") {
		t.Fatalf("want the rollback paused at step.approve_restore (exit 3): %s", first)
	}
	if want := "transferring leadership from " + upgraded[0] + ".global"; !strings.Contains(first.Stdout, want) {
		t.Errorf("the rollback did not move leadership off the upgraded leader before stopping it (no %q): %s", want, first)
	}
	if strings.Contains(first.Stdout, "step.restore: starting") {
		t.Fatalf("the restore started before it was approved: %s", first)
	}
	if _, _, err := nc.Variables().Read("rollback/after", nil); err != nil {
		t.Fatalf("before the approval the state must be untouched, but rollback/after: %v", err)
	}
	second := e.Nrun("apply", "-no-color", "-resume", "-approve", "step.approve_restore", "-var-file", vars, rollback)
	t.Logf("the rollback, resumed with the approval, ran %s and exited %d", second.Took.Round(time.Millisecond), second.Code)
	if second.Code != 0 {
		t.Fatalf("%s", second)
	}
	if !strings.Contains(second.Stdout, "restored nomad snapshot") {
		t.Errorf("the resumed run does not report the restore: %s", second)
	}
	w.Stop()
	watching = false
	t.Logf("quorum watch: %s", w)

	// The servers: all back on 1.9.4, alive voters, one leader.
	st = e.SB.Status()
	leaders := 0
	for _, s := range st.Servers {
		if s.Build != sandbox.OldNomadVersion || !s.Running || s.Member != "alive" || !s.Voter {
			t.Errorf("server %s after the rollback: %+v", s.Name, s)
		}
		if s.Leader {
			leaders++
		}
	}
	if len(st.Servers) != 3 || leaders != 1 || len(st.Problems) > 0 {
		t.Errorf("servers %+v (%d leaders), problems %q", st.Servers, leaders, st.Problems)
	}
	e2etest.Eventually(t, "autopilot healthy with failure tolerance 1", time.Minute, func() (bool, string) {
		h, _, err := nc.Operator().AutopilotServerHealth(nil)
		if err != nil {
			return false, err.Error()
		}
		return h.Healthy && h.FailureTolerance == 1 && len(h.Servers) == 3, fmt.Sprintf("healthy %v, failure tolerance %d, %d servers", h.Healthy, h.FailureTolerance, len(h.Servers))
	})
	// The state is the snapshot's: what was written after it is gone.
	if v, _, err := nc.Variables().Read("rollback/before", nil); err != nil || v.Items["note"] != "in the snapshot" {
		t.Errorf("rollback/before, written before the snapshot, after the restore: %+v, %v", v, err)
	}
	if _, _, err := nc.Variables().Read("rollback/after", nil); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("rollback/after, written after the snapshot, must be gone after the restore; read: %v", err)
	}
	e.WaitRunning(sandbox.DemoJob, 2, time.Minute)
	if w.MinMargin < 0 {
		t.Errorf("the quorum watcher saw fewer voters up than a quorum: %s", w)
	}
	if w.Samples < 20 || w.Degraded == 0 {
		t.Errorf("the quorum watcher did not follow the runs closely enough to prove anything: %s", w)
	}

	// Wall time against the floor: the waits the rollback cannot avoid,
	// summed from its own timings (each server's stop, and its start with
	// the wait until it is a healthy voter again, and the restore with its
	// waits); the rest is nrun's (plan, snapshots, checks, the transfer).
	wall := first.Took + second.Took
	floor := stepTimes(t, first.Stdout+second.Stdout, `step\.(recover|rollback)\["[^"]+"\]\.step\.(stop|start): finished \(([^)]+)\)`) +
		stepTimes(t, second.Stdout, `step\.restore: finished \(([^)]+)\)`)
	t.Logf("nomad-server-rollback: wall %s (up to the approval %s, after it %s), floor %s", wall.Round(time.Millisecond), first.Took.Round(time.Millisecond), second.Took.Round(time.Millisecond), floor.Round(time.Millisecond))
	if floor <= 0 || floor > wall {
		t.Errorf("floor %s against wall %s: the timings were not read from the run", floor, wall)
	}
}

// putVar writes a Nomad Variable with one item, note.
func putVar(t *testing.T, nc *nomad.Client, path, note string) {
	t.Helper()
	if _, _, err := nc.Variables().Create(&nomad.Variable{Path: path, Items: nomad.VariableItems{"note": note}}, nil); err != nil {
		t.Fatalf("write variable %s: %v", path, err)
	}
}

// stepTimes sums the durations the last group of re captures in out.
func stepTimes(t *testing.T, out, re string) time.Duration {
	t.Helper()
	var sum time.Duration
	for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(out, -1) {
		d, err := time.ParseDuration(m[len(m)-1])
		if err != nil {
			t.Fatalf("duration %q: %v", m[len(m)-1], err)
		}
		sum += d
	}
	return sum
}
