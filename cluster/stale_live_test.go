package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// A cluster that has lost quorum has no leader and refuses consistent
// reads; Snapshot must still show it (the checks have to see it to block),
// read stale and marked so.
func TestLiveSnapshotWithoutLeader(t *testing.T) {
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
	c, err := cluster.New(cluster.Config{}, cluster.WithGetenv(func(k string) string { return env[k] }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	v, err := c.Snapshot(ctx, cluster.SnapshotOptions{Nomad: true})
	if err != nil || v.Nomad == nil || v.Nomad.Stale {
		t.Fatalf("healthy cluster: view %+v, err %v; want a consistent read", v.Nomad, err)
	}
	leader, err := sb.Leader()
	if err != nil {
		t.Fatal(err)
	}
	// Kill the two servers the API address does not point at, so the agent
	// that answers survives and the cluster is left without quorum.
	var killed []string
	for _, a := range sb.Agents() {
		if a.Kind != sandbox.NomadServer || env["NOMAD_ADDR"] == "http://"+a.HTTPAddr() {
			continue
		}
		if err := sb.KillServer(ctx, a.Name); err != nil {
			t.Fatal(err)
		}
		killed = append(killed, a.Name)
	}
	if len(killed) != 2 {
		t.Fatalf("killed %v, want two servers", killed)
	}
	t.Logf("leader was %s; killed %v", leader, killed)
	deadline := time.Now().Add(60 * time.Second)
	for {
		v, err = c.Snapshot(ctx, cluster.SnapshotOptions{Nomad: true})
		if v != nil && v.Nomad != nil && v.Nomad.Stale {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stale view within 60s after losing quorum: view %+v, err %v", v.Nomad, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(v.Nomad.Raft.Servers) != 3 {
		t.Errorf("stale view lists %d Raft servers, want 3", len(v.Nomad.Raft.Servers))
	}
	if v.Nomad.Raft.FailureTolerance() >= 0 {
		t.Errorf("failure tolerance %d without quorum, want < 0", v.Nomad.Raft.FailureTolerance())
	}
}
