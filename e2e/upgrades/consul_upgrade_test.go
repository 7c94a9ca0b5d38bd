package upgrades

import (
	"context"
	"fmt"
	"github.com/nrun-dev/nrun/e2e/e2etest"
	"sort"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// TestConsulServerRollingUpgrade upgrades the three Consul servers of a
// fresh sandbox from the old pinned Consul to 1.21.0 with
// runbooks/consul-server-rolling-upgrade.nrun.hcl, while a watcher follows
// Consul's Raft peers and which servers run. Every Nomad agent has its own
// Consul client agent, and nrun reads Consul through one of them, as on a
// real host. At the end every Consul server runs 1.21.0, autopilot calls
// all three healthy with failure tolerance 1, there is a leader, the demo
// job still runs, the Nomad agents' services are registered and passing in
// Consul, and the watcher never saw Consul's quorum lost. The floor, the
// same restarts done directly through the sandbox with only the waits
// Consul imposes, is measured afterwards on the same cluster.
func TestConsulServerRollingUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sandboxtest.Require(t, sandbox.Spec{ConsulServers: 1, ConsulVersion: sandbox.DefaultConsulVersion})
	spec := sandbox.DefaultSpec("", 3, 2, 3, sandbox.DefaultNomadVersion)
	spec.ConsulVersion = sandbox.OldConsulVersion
	for i := range spec.Servers {
		spec.Servers[i].ConsulAgent = true
	}
	for i := range spec.Clients {
		spec.Clients[i].ConsulAgent = true
	}
	e := newEnv(t, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := e.SB.RunDemoJob(ctx); err != nil {
		t.Fatal(err)
	}
	// A client agent forwards to whichever Consul server is up.
	e.Vars["CONSUL_HTTP_ADDR"] = "http://" + e.SB.ConsulAgents()["c1"]
	cc, err := consul.NewClient(&consul.Config{Address: e.Vars["CONSUL_HTTP_ADDR"]})
	if err != nil {
		t.Fatal(err)
	}
	servers := []string{"consul1", "consul2", "consul3"}
	old := map[string]string{}
	for _, s := range servers {
		old[s] = sandbox.OldConsulVersion
	}
	if got, err := e.SB.ConsulServerVersions(); err != nil || fmt.Sprint(got) != fmt.Sprint(old) {
		t.Fatalf("Consul servers before the upgrade: %v (%v), want %v", got, err, old)
	}
	// Autopilot must call every server healthy before the plan: right
	// after the start it still counts them unstable.
	stable := consulStabilization(t, cc)
	for _, s := range servers {
		waitConsulStable(t, cc, s, sandbox.OldConsulVersion, stable)
	}

	rb := e2etest.CopyRunbook(t, e.Dir, "consul-server-rolling-upgrade.nrun.hcl", "consul-sandbox.nrunvars.hcl")
	varFile := strings.TrimSuffix(rb, "consul-server-rolling-upgrade.nrun.hcl") + "consul-sandbox.nrunvars.hcl"
	w := e2etest.WatchConsulQuorum(t, e.Env, cc)
	r := e.Nrun("apply", "-auto-approve", "-var-file", varFile, rb)
	w.Stop()
	if r.Code != 0 {
		t.Fatalf("%s\n%s", r, e.SB.LogTails(20))
	}
	t.Logf("nrun apply of the Consul rolling upgrade: wall time %s", r.Took.Round(time.Millisecond))
	for _, line := range strings.Split(r.Stdout, "\n") {
		if strings.Contains(line, ": finished (") || strings.Contains(line, "held") || strings.Contains(line, "transferring") {
			t.Log(line)
		}
	}
	if !strings.Contains(r.Stdout+r.Stderr, "finished. 11 finished, 0 failed, 0 skipped.") {
		t.Errorf("want 11 step instances finished:\n%s", r)
	}

	// The order, from the apply's own lines.
	e2etest.CheckRollingOrder(t, r.Stdout, `(consul\d)`, `transferring Consul leadership from (consul\d)`, "Consul ")

	// The quorum watcher: it followed the run, and no e2etest.Sample had fewer
	// voters up than a majority.
	t.Logf("Consul quorum watch: %s", w)
	if w.Samples < 20 {
		t.Errorf("the quorum watcher read the cluster only %d times during the run", w.Samples)
	}
	if w.MinMargin < 0 {
		t.Errorf("Consul quorum was lost during the run: %s", w)
	}
	// A restart keeps a server down for well under a second, which a
	// e2etest.Sample may miss; its new PID it cannot miss. Each server restarted
	// once, and never two between the same two samples.
	if w.Restarts != 3 || w.Together > 0 || w.Gap > 5*time.Second {
		t.Errorf("the quorum watcher did not follow the run closely enough to prove anything: %s", w)
	}

	// The end state.
	want := map[string]string{}
	for _, s := range servers {
		want[s] = sandbox.DefaultConsulVersion
	}
	if got, err := e.SB.ConsulServerVersions(); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Consul servers after the upgrade: %v (%v), want %v", got, err, want)
	}
	e2etest.Eventually(t, "Consul autopilot healthy with failure tolerance 1", time.Minute, func() (bool, string) {
		h, err := cc.Operator().AutopilotServerHealth(nil)
		if err != nil {
			return false, err.Error()
		}
		healthy := 0
		var seen []string
		for _, s := range h.Servers {
			if s.Healthy && s.Voter && s.Version == sandbox.DefaultConsulVersion {
				healthy++
			}
			seen = append(seen, fmt.Sprintf("%s healthy=%v voter=%v %s", s.Name, s.Healthy, s.Voter, s.Version))
		}
		return h.Healthy && h.FailureTolerance == 1 && healthy == 3, fmt.Sprintf("healthy=%v tolerance=%d [%s]", h.Healthy, h.FailureTolerance, strings.Join(seen, ", "))
	})
	if leader, err := e.SB.ConsulLeader(); err != nil {
		t.Errorf("Consul leader after the upgrade: %v", err)
	} else {
		t.Logf("Consul leader after the upgrade: %s", leader)
	}
	e.WaitRunning(sandbox.DemoJob, 2, time.Minute)
	// The Nomad agents kept a working Consul: their own services are
	// registered and passing.
	e2etest.Eventually(t, "the Nomad agents' services passing in Consul", time.Minute, func() (bool, string) {
		var seen []string
		ok := true
		for svc, n := range map[string]int{"nomad": 3, "nomad-client": 2} {
			nodes, err := e2etest.PassingNodes(cc, svc)
			if err != nil {
				return false, err.Error()
			}
			seen = append(seen, fmt.Sprintf("%s passing on %d nodes", svc, len(nodes)))
			ok = ok && len(nodes) == n
		}
		sort.Strings(seen)
		return ok, strings.Join(seen, ", ")
	})
	for _, s := range e.SB.Status().Consul {
		if !s.Running || !s.Voter || s.Version != sandbox.DefaultConsulVersion {
			t.Errorf("Consul server %s after the upgrade: %+v", s.Name, s)
		}
	}

	// The floor: the same three restarts done directly through the
	// sandbox, followers first and the leader last (without a transfer),
	// each followed by autopilot calling the server a healthy voter for
	// server_stabilization_time, read every 50ms. No snapshot, no quorum
	// check, no verification.
	leader, err := e.SB.ConsulLeader()
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, s := range servers {
		if s != leader {
			order = append(order, s)
		}
	}
	order = append(order, leader)
	for _, s := range servers {
		waitConsulStable(t, cc, s, sandbox.DefaultConsulVersion, stable)
	}
	start := time.Now()
	for _, s := range order {
		if err := e.SB.StopConsulServer(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := e.SB.StartConsulServer(ctx, s, sandbox.DefaultConsulVersion); err != nil {
			t.Fatal(err)
		}
		waitConsulStable(t, cc, s, sandbox.DefaultConsulVersion, stable)
	}
	floor := time.Since(start)
	t.Logf("Consul rolling upgrade: nrun apply %s, floor %s (3 restarts + autopilot's %s stabilization each), overhead %s",
		r.Took.Round(time.Millisecond), floor.Round(time.Millisecond), stable, (r.Took - floor).Round(time.Millisecond))
}

// consulStabilization is Consul autopilot's server_stabilization_time.
func consulStabilization(t *testing.T, cc *consul.Client) time.Duration {
	t.Helper()
	cfg, err := cc.Operator().AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.ServerStabilizationTime.Duration()
}

// waitConsulStable polls Consul autopilot every 50ms until it reports
// server as a healthy voter on version, and then keeps doing so for
// stable.
func waitConsulStable(t *testing.T, cc *consul.Client, server, version string, stable time.Duration) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var since time.Time
	var seen string
	for time.Now().Before(deadline) {
		ok := false
		if h, err := cc.Operator().AutopilotServerHealth(nil); err != nil {
			seen = err.Error()
		} else {
			for _, s := range h.Servers {
				if s.Name == server {
					ok = s.Healthy && s.Voter && s.Version == version
					seen = fmt.Sprintf("%s healthy=%v voter=%v %s", s.Name, s.Healthy, s.Voter, s.Version)
				}
			}
		}
		switch {
		case !ok:
			since = time.Time{}
		case since.IsZero():
			since = time.Now()
		case time.Since(since) >= stable:
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("Consul server %s not a stable healthy voter on %s after 2m; last seen: %s", server, version, seen)
}
