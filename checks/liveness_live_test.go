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
// address refusing connections. Nomad servers and Consul servers alike.
func TestLiveQuorumKilledFollower(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	t.Run("nomad", func(t *testing.T) {
		sandboxtest.Timer(t)
		sb := sandboxtest.New(t, sandbox.DefaultSpec("", 3, 0, 0, sandbox.DefaultNomadVersion))
		// s1 is behind NOMAD_ADDR.
		killedFollower(t, sb, "nomad", []string{"s1", "s2", "s3"}, lang.TargetNomadServer, sb.Leader, sb.KillServer)
	})
	t.Run("consul", func(t *testing.T) {
		sandboxtest.Timer(t)
		sb := sandboxtest.New(t, sandbox.DefaultSpec("", 1, 0, 3, sandbox.DefaultNomadVersion))
		// consul1 is behind CONSUL_HTTP_ADDR.
		killedFollower(t, sb, "consul", []string{"consul1", "consul2", "consul3"}, lang.TargetConsulServer, sb.ConsulLeader, sb.KillConsulServer)
	})
}

func killedFollower(t *testing.T, sb *sandbox.Cluster, which string, names []string, kind lang.TargetKind,
	leaderOf func() (string, error), kill func(context.Context, string) error) {
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
	opts := cluster.SnapshotOptions{Nomad: which == "nomad", Consul: which == "consul"}
	raftOf := func(v *cluster.View) cluster.RaftView {
		if which == "consul" {
			return v.Consul.Raft
		}
		return v.Nomad.Raft
	}
	var v *cluster.View
	var leader string
	// Wait for three healthy, alive voters and a leader every server
	// agrees on.
	poll(t, 90*time.Second, "3/3 "+which+" voters healthy and alive", func() (bool, string) {
		v, err = c.Snapshot(ctx, opts)
		if err != nil {
			t.Fatalf("snapshot: %v\n%s", err, hint(err))
		}
		leader, err = leaderOf()
		if err != nil {
			return false, err.Error()
		}
		n := raftOf(v).HealthyVoters()
		return n == 3, fmt.Sprintf("%d healthy voters, leader %q", n, leader)
	})
	// Kill a follower that is not behind the API address (names[0]); ask
	// about the other survivor.
	var victim, other string
	for _, n := range names[1:] {
		if n != leader && victim == "" {
			victim = n
		}
	}
	for _, n := range names {
		if n != victim && n != leader {
			other = n
		}
	}
	target := checks.Target{Kind: kind, Name: other}
	args := checks.Args{Cluster: which}
	if r := checks.Eval("quorum_ok", args, target, v); !r.OK {
		t.Fatalf("before the kill: %s", r)
	}
	if lv := raftOf(v).Liveness(); lv != cluster.LivenessProbe {
		t.Fatalf("on loopback the RPC probe must reach the servers; liveness by %s", lv)
	}

	if err := kill(ctx, victim); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	v, err = c.Snapshot(ctx, opts)
	if err != nil {
		t.Fatalf("snapshot right after the kill: %v\n%s", err, hint(err))
	}
	took := time.Since(killed)
	res := checks.Eval("quorum_ok", args, target, v)
	t.Logf("%s after the kill of %s: %s", took.Round(time.Millisecond), victim, res)
	if took > time.Second {
		t.Errorf("the view took %s after the kill; the point is to check within the first second", took)
	}
	var dead cluster.Server
	for _, s := range raftOf(v).Servers {
		if short, _, _ := strings.Cut(s.Name, "."); short == victim {
			dead = s
		}
	}
	t.Logf("%s in the view: autopilot healthy %v, gossip %s, rpc %s", victim, dead.Healthy, dead.Status, dead.RPC)
	if dead.RPC != cluster.RPCRefused {
		t.Errorf("%s's RPC probe = %q, want %q", victim, dead.RPC, cluster.RPCRefused)
	}
	if res.OK {
		t.Errorf("quorum_ok for %s passed with %s killed: %s", other, victim, res)
	}
	if tol := raftOf(v).FailureTolerance(); tol != 0 {
		t.Errorf("failure tolerance %d right after the kill, want 0", tol)
	}
	if !strings.Contains(res.String(), "tolerance after disruption -1") {
		t.Errorf("quorum_ok does not report the tolerance after disruption as -1: %s", res)
	}
	if dead.Healthy && !strings.Contains(res.String(), fmt.Sprintf("%s (its RPC address %s refuses connections", dead.Name, dead.Address)) {
		t.Errorf("quorum_ok does not name %s and why it is not counted: %s", victim, res)
	}
}
