package checks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// TestLiveSnapshotAndQuorum runs Client.Snapshot and the quorum checks
// against real agents: 3 Nomad servers, 1 client, 3 Consul servers on
// loopback. It then stops a follower without leaving, which makes autopilot
// answer 429, and checks that the snapshot still reads and quorum_ok turns
// against disrupting a second server.
func TestLiveSnapshotAndQuorum(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sandboxtest.Timer(t)
	spec := sandbox.DefaultSpec("", 3, 1, 3, sandbox.DefaultNomadVersion)
	sb := sandboxtest.New(t, spec)

	env := map[string]string{}
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	rec := &recorder{nomadHost: strings.TrimPrefix(env["NOMAD_ADDR"], "http://"), answers: map[string]any{}}
	c, err := cluster.New(cluster.Config{}, cluster.WithGetenv(func(k string) string { return env[k] }),
		cluster.WithWaitTime(time.Second), cluster.WithTransport(rec))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opts := cluster.SnapshotOptions{Nomad: true, Consul: true, Nodes: true}
	// Start returns once there are three voters; autopilot counts a new
	// server healthy only after its stabilization time.
	if _, err := sb.WaitHealthy(ctx, 1); err != nil {
		t.Fatal(err)
	}

	// Consul's autopilot needs its own few seconds after Nomad's.
	var v *cluster.View
	poll(t, 90*time.Second, "both autopilots healthy", func() (bool, string) {
		v, err = c.Snapshot(ctx, opts)
		if err != nil {
			t.Fatalf("snapshot of a healthy sandbox: %v\n%s", err, hint(err))
		}
		// Right after an election Consul can answer Healthy with an
		// empty server list; wait until each server has its entry. Reads
		// may be stale: a follower can still show c1 initializing after
		// the leader has it ready.
		c1, _ := v.Nomad.Node("c1")
		return v.Nomad.Raft.Autopilot.Healthy && v.Consul.Raft.Autopilot.Healthy &&
				v.Nomad.Raft.HealthyVoters() == 3 && v.Consul.Raft.HealthyVoters() == 3 && c1.Status == "ready",
			fmt.Sprintf("nomad %+v consul %+v c1 %s", v.Nomad.Raft.Autopilot, v.Consul.Raft.Autopilot, c1.Status)
	})
	if b, err := json.MarshalIndent(v, "", "  "); err == nil && os.Getenv("NRUN_DUMP_VIEW") != "" {
		_ = os.WriteFile(os.Getenv("NRUN_DUMP_VIEW"), b, 0o644)
	}
	r := v.Nomad.Raft
	if r.Voters() != 3 || r.HealthyVoters() != 3 || r.FailureTolerance() != 1 || r.Autopilot.StatusCode != 200 {
		t.Fatalf("healthy sandbox: voters %d healthy %d tolerance %d autopilot %+v", r.Voters(), r.HealthyVoters(), r.FailureTolerance(), r.Autopilot)
	}
	if r.Autopilot.FailureTolerance != r.FailureTolerance() {
		t.Errorf("our tolerance %d differs from autopilot's %d", r.FailureTolerance(), r.Autopilot.FailureTolerance)
	}
	for _, s := range r.Servers {
		if s.Version != sandbox.DefaultNomadVersion || s.Status != "alive" || s.ID == "" || !s.InRaft {
			t.Errorf("server %+v: want alive, in Raft, version %s", s, sandbox.DefaultNomadVersion)
		}
	}
	leaderName, err := sb.Leader()
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := r.Leader(); !ok || l.Name != leaderName+"."+v.Nomad.Region {
		t.Errorf("view leader %+v, sandbox says %s", l, leaderName)
	}
	if cr := v.Consul.Raft; cr.Voters() != 3 || cr.FailureTolerance() != 1 {
		b, _ := json.MarshalIndent(v.Consul, "", "  ")
		t.Errorf("consul: voters %d tolerance %d\n%s", cr.Voters(), cr.FailureTolerance(), b)
	}
	if n, ok := v.Nomad.Node("c1"); !ok || n.Status != "ready" || n.Eligibility != "eligible" {
		t.Errorf("node c1 = %+v, %v", n, ok)
	}

	// The follower that is not behind NOMAD_ADDR (the first server, s1)
	// gets stopped; the other survivor is the one we ask about.
	var stop, other string
	for _, name := range []string{"s2", "s3"} {
		if name != leaderName && stop == "" {
			stop = name
		}
	}
	for _, name := range []string{"s1", "s2", "s3"} {
		if name != stop && name != leaderName {
			other = name
		}
	}
	srv := func(n string) checks.Target { return checks.Target{Kind: lang.TargetNomadServer, Name: n} }
	expect := func(v *cluster.View, name string, args checks.Args, target checks.Target, ok bool, prefix string) {
		t.Helper()
		res := checks.Eval(name, args, target, v)
		t.Log(res)
		if res.OK != ok || !strings.HasPrefix(res.String(), prefix) {
			t.Errorf("got %s\nwant ok=%v and prefix %q", res, ok, prefix)
		}
	}
	expect(v, "quorum_ok", checks.Args{}, srv(stop), true,
		fmt.Sprintf("quorum_ok: 3/3 voters healthy, failure tolerance 1, target %s is a voter -> tolerance after disruption 0: ok", stop))
	expect(v, "leader_not_target", checks.Args{}, srv(leaderName), false, "leader_not_target: leader is "+leaderName+".global, target "+leaderName+": not ok")
	expect(v, "leader_not_target", checks.Args{}, srv(stop), true, "leader_not_target: leader is "+leaderName+".global, target "+stop+": ok")
	expect(v, "servers_version", checks.Args{Version: sandbox.DefaultNomadVersion}, checks.Target{}, true, "servers_version: 3/3 nomad servers at")
	expect(v, "quorum_ok", checks.Args{}, checks.Target{Kind: lang.TargetConsulServer, Name: "consul1"}, true, "quorum_ok: 3/3 voters healthy, failure tolerance 1")

	// Drain the (empty) client: the drain completes at once, and node_drained
	// and node_ineligible must see it.
	nc, err := sb.NomadClient()
	if err != nil {
		t.Fatal(err)
	}
	c1, ok := v.Nomad.Node("c1")
	if !ok {
		t.Fatalf("node c1 missing from the snapshot")
	}
	if _, err := nc.Nodes().UpdateDrain(c1.ID, &api.DrainSpec{Deadline: time.Minute}, false, nil); err != nil {
		t.Fatal(err)
	}
	poll(t, 60*time.Second, "the drain of c1 to complete", func() (bool, string) {
		v, err = c.Snapshot(ctx, opts)
		if err != nil {
			t.Fatalf("snapshot: %v", err)
		}
		n, _ := v.Nomad.Node("c1")
		return n.LastDrain != nil && n.LastDrain.Status == "complete", fmt.Sprintf("%+v", n)
	})
	expect(v, "node_drained", checks.Args{}, checks.Target{Kind: lang.TargetNomadNode, Name: "c1"}, true, "node_drained: c1: last drain complete, 0 allocations running (0 system): ok")
	expect(v, "node_ineligible", checks.Args{}, checks.Target{Kind: lang.TargetNomadNode, Name: "c1"}, true, "node_ineligible: c1: ineligible: ok")

	// The hand-written API answers that package cluster's tests serve
	// must not invent fields real agents do not send.
	rec.mu.Lock()
	compareFixture(t, "../cluster/testdata/api/healthy3.json", rec.answers)
	rec.mu.Unlock()

	if err := sb.StopServer(ctx, stop); err != nil {
		t.Fatal(err)
	}
	node := c1
	// Autopilot answers 429 once it sees the stopped server fail. Shortly
	// after, its dead-server cleanup may remove the server from Raft (serf
	// status "left"), leaving 2 voters; quorum_ok must refuse a second
	// disruption in both states.
	poll(t, 90*time.Second, "autopilot to report "+stop+" unhealthy", func() (bool, string) {
		v, err = c.Snapshot(ctx, cluster.SnapshotOptions{Nomad: true})
		if err != nil {
			t.Fatalf("snapshot with %s stopped: %v\n%s", stop, err, hint(err))
		}
		return v.Nomad.Raft.Autopilot.StatusCode == 429 && v.Nomad.Raft.HealthyVoters() == 2, fmt.Sprintf("%+v", v.Nomad.Raft)
	})
	expect(v, "quorum_ok", checks.Args{}, srv(other), false, "quorum_ok: 2/")
	expect(v, "quorum_ok", checks.Args{}, srv(stop), true, "quorum_ok: 2/")
	expect(v, "server_healthy", checks.Args{}, srv(stop), false, "server_healthy: "+stop+": autopilot unhealthy")
	expect(v, "servers_healthy", checks.Args{}, checks.Target{}, false, "servers_healthy: autopilot unhealthy, 2/")
	t.Log(checks.Eval("raft_peer_present", checks.Args{}, srv(stop), v))

	// A blocking query on an unchanged node returns after the wait time
	// with the same index.
	// A blocking query on an unchanged node returns after the wait time
	// with the same index. The node may still change a few times after
	// the server stop, so allow a few rounds.
	idx := node.ModifyIndex
	blocked := false
	for i := 0; i < 5 && !blocked; i++ {
		start := time.Now()
		_, next, err := c.WaitNode(ctx, node.ID, idx)
		if err != nil {
			t.Fatal(err)
		}
		if next < idx {
			t.Fatalf("WaitNode went back from index %d to %d", idx, next)
		}
		blocked = next == idx && time.Since(start) >= 500*time.Millisecond
		idx = next
	}
	if !blocked {
		t.Errorf("WaitNode never blocked for the 1s wait time on an unchanged node")
	}
}

func poll(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, seen := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last seen: %s", d, what, seen)
		}
		time.Sleep(time.Second)
	}
}

func hint(err error) string {
	var e *cluster.Error
	if errors.As(err, &e) {
		return e.Hint()
	}
	return ""
}
