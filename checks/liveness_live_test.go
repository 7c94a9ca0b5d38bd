package checks_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// TestLiveQuorumKilledFollower: a follower killed with SIGKILL stays
// "healthy" in autopilot's answer until gossip marks it failed, seconds
// later. quorum_ok about another server must refuse at once, from the
// first view taken after the kill: the RPC probe finds the dead server's
// address refusing connections.
func TestLiveQuorumKilledFollower(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sandboxtest.Timer(t)
	sb := sandboxtest.New(t, sandbox.DefaultSpec("", 3, 0, 0, sandbox.DefaultNomadVersion))
	env := map[string]string{}
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	c, err := cluster.New(cluster.Config{}, cluster.WithGetenv(func(k string) string { return env[k] }), cluster.WithWaitTime(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := sb.WaitHealthy(ctx, 1); err != nil {
		t.Fatal(err)
	}
	leader, err := sb.Leader()
	if err != nil {
		t.Fatal(err)
	}
	// Kill a follower that is not behind NOMAD_ADDR (s1); ask about the
	// other survivor.
	var kill, other string
	for _, n := range []string{"s2", "s3"} {
		if n != leader && kill == "" {
			kill = n
		}
	}
	for _, n := range []string{"s1", "s2", "s3"} {
		if n != kill && n != leader {
			other = n
		}
	}
	target := checks.Target{Kind: lang.TargetNomadServer, Name: other}
	opts := cluster.SnapshotOptions{Nomad: true}
	var v *cluster.View
	poll(t, 90*time.Second, "3/3 voters healthy and alive", func() (bool, string) {
		v, err = c.Snapshot(ctx, opts)
		if err != nil {
			t.Fatalf("snapshot: %v\n%s", err, hint(err))
		}
		r := checks.Eval("quorum_ok", checks.Args{}, target, v)
		return r.OK && v.Nomad.Raft.HealthyVoters() == 3, r.String()
	})
	if lv := v.Nomad.Raft.Liveness(); lv != cluster.LivenessProbe {
		t.Fatalf("on loopback the RPC probe must reach the servers; liveness by %s", lv)
	}

	if err := sb.KillServer(ctx, kill); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	v, err = c.Snapshot(ctx, opts)
	if err != nil {
		t.Fatalf("snapshot right after the kill: %v\n%s", err, hint(err))
	}
	took := time.Since(killed)
	res := checks.Eval("quorum_ok", checks.Args{}, target, v)
	t.Logf("%s after the kill: %s", took.Round(time.Millisecond), res)
	if took > time.Second {
		t.Errorf("the view took %s after the kill; the point is to check within the first second", took)
	}
	var dead cluster.Server
	for _, s := range v.Nomad.Raft.Servers {
		if strings.HasPrefix(s.Name, kill+".") {
			dead = s
		}
	}
	t.Logf("%s in the view: autopilot healthy %v, gossip %s, rpc %s", kill, dead.Healthy, dead.Status, dead.RPC)
	if dead.RPC != cluster.RPCRefused {
		t.Errorf("%s's RPC probe = %q, want %q", kill, dead.RPC, cluster.RPCRefused)
	}
	if res.OK {
		t.Errorf("quorum_ok for %s passed with %s killed: %s", other, kill, res)
	}
	if tol := v.Nomad.Raft.FailureTolerance(); tol != 0 {
		t.Errorf("failure tolerance %d right after the kill, want 0", tol)
	}
	if !strings.Contains(res.String(), "tolerance after disruption -1") {
		t.Errorf("quorum_ok does not report the tolerance after disruption as -1: %s", res)
	}
	if dead.Healthy && !strings.Contains(res.String(), fmt.Sprintf("%s.global (its RPC address %s refuses connections", kill, dead.Address)) {
		t.Errorf("quorum_ok does not name %s and why it is not counted: %s", kill, res)
	}
}
