package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/api"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

func TestMain(m *testing.M) { os.Exit(sandboxtest.Main(m)) }

// fleetSpec starts on 1.9.4 so the upgrade to 1.10.0 is the real one.
func fleetSpec() sandbox.Spec {
	s := sandbox.DefaultSpec("", 3, 2, 3, sandbox.OldNomadVersion)
	s.ServerStabilizationTime = 2 * time.Second
	return s
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// poll waits for cond with a bounded deadline and reports what it last saw.
func poll(t *testing.T, c *sandbox.Cluster, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	var seen string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, seen = cond(); ok {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last seen: %s\n%s", d, what, seen, c.LogTails(30))
}

func sleeperJob() *api.Job {
	job := api.NewServiceJob("sleeper", "sleeper", "global", 50)
	job.Datacenters = []string{"dc1"}
	job.Update = &api.UpdateStrategy{
		MinHealthyTime:   ptr(time.Second),
		HealthyDeadline:  ptr(30 * time.Second),
		ProgressDeadline: ptr(60 * time.Second),
	}
	tg := api.NewTaskGroup("g", 2)
	// Spread, not distinct_hosts: after a drain both allocations must fit
	// on the remaining client.
	tg.Spreads = []*api.Spread{{Attribute: "${node.unique.name}", Weight: ptr(int8(100))}}
	tg.Migrate = &api.MigrateStrategy{
		MaxParallel:     ptr(1),
		HealthCheck:     ptr("task_states"),
		MinHealthyTime:  ptr(time.Second),
		HealthyDeadline: ptr(30 * time.Second),
	}
	task := api.NewTask("sleep", "raw_exec")
	task.Config = map[string]any{"command": "/bin/sleep", "args": []string{"3600"}}
	task.Resources = &api.Resources{CPU: ptr(50), MemoryMB: ptr(32)}
	tg.AddTask(task)
	job.AddTaskGroup(tg)
	return job
}

func ptr[T any](v T) *T { return &v }

// runningByNode counts the job's running allocations per client name.
func runningByNode(cl *api.Client, job string) (map[string]int, error) {
	allocs, _, err := cl.Jobs().Allocations(job, false, nil)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, a := range allocs {
		if a.ClientStatus == "running" && a.DesiredStatus == "run" {
			out[a.NodeName]++
		}
	}
	return out, nil
}

func nodeID(t *testing.T, cl *api.Client, name string) string {
	t.Helper()
	nodes, _, err := cl.Nodes().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Name == name {
			return n.ID
		}
	}
	t.Fatalf("no node named %s", name)
	return ""
}

func members(t *testing.T, cl *api.Client) map[string]string {
	t.Helper()
	ms, err := cl.Agent().Members()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range ms.Members {
		out[m.Name] = m.Status + " " + m.Tags["build"]
	}
	return out
}

// TestFleet runs every operation against one 3-server, 2-client, 3-Consul
// cluster that starts on Nomad 1.9.4. Subtests run in order and share the
// cluster; each leaves it healthy for the next. The cluster is the test's
// own (New, not Shared): it ends upgraded and stopped, so no other test
// could reuse it, not even the same test under -count=2.
func TestFleet(t *testing.T) {
	sandboxtest.Timer(t)
	start := time.Now()
	c := sandboxtest.New(t, fleetSpec())
	for _, p := range c.Phases() {
		t.Logf("start phase %-14s %.1fs", p.Name, p.Took.Seconds())
	}
	t.Logf("cluster up in %.1fs", time.Since(start).Seconds())
	// Start returns only once autopilot calls every server healthy, so a
	// plan made right after `sandbox up` does not pause on quorum_ok.
	if h, err := c.AutopilotHealth(); err != nil || !h.Healthy || h.FailureTolerance != 1 {
		t.Fatalf("right after Start, autopilot health = %+v, %v; want healthy with failure tolerance 1", h, err)
	}
	cl, err := c.NomadClient()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("leader_and_failure_tolerance", func(t *testing.T) {
		sandboxtest.Timer(t)
		leader, err := c.Leader()
		if err != nil || leader == "" {
			t.Fatalf("Leader() = %q, %v", leader, err)
		}
		h, err := c.WaitHealthy(ctxFor(t, time.Minute), 1)
		if err != nil {
			t.Fatal(err)
		}
		if h.FailureTolerance != 1 || len(h.Servers) != 3 {
			t.Fatalf("autopilot: FailureTolerance %d with %d servers, want 1 with 3", h.FailureTolerance, len(h.Servers))
		}
		st := c.Status()
		leaders, voters := 0, 0
		for _, p := range st.Consul {
			if p.Leader {
				leaders++
			}
			if p.Voter {
				voters++
			}
		}
		if leaders != 1 || voters != 3 {
			t.Fatalf("consul: %d leaders and %d voters, want 1 and 3: %+v %v", leaders, voters, st.Consul, st.Problems)
		}
		// Nomad agents register themselves in Consul through their consul
		// stanza.
		var consulAddr string
		for _, kv := range c.Env() {
			if v, ok := strings.CutPrefix(kv, "CONSUL_HTTP_ADDR="); ok {
				consulAddr = v
			}
		}
		poll(t, c, time.Minute, "the nomad and nomad-client services in Consul's catalog", func() (bool, string) {
			resp, err := http.Get("http://" + consulAddr + "/v1/catalog/services")
			if err != nil {
				return false, err.Error()
			}
			defer resp.Body.Close()
			var services map[string][]string
			if err := json.NewDecoder(resp.Body).Decode(&services); err != nil {
				return false, err.Error()
			}
			_, server := services["nomad"]
			_, client := services["nomad-client"]
			return server && client, fmt.Sprint(services)
		})
		for _, s := range st.Servers {
			if !s.Voter || s.Build != sandbox.OldNomadVersion {
				t.Fatalf("server %s: voter=%v build=%q, want voter on %s", s.Name, s.Voter, s.Build, sandbox.OldNomadVersion)
			}
		}
	})

	t.Run("raw_exec_job_runs_on_both_clients", func(t *testing.T) {
		sandboxtest.Timer(t)
		if _, _, err := cl.Jobs().Register(sleeperJob(), nil); err != nil {
			t.Fatal(err)
		}
		poll(t, c, 90*time.Second, "2 running allocations, one per client", func() (bool, string) {
			by, err := runningByNode(cl, "sleeper")
			if err != nil {
				return false, err.Error()
			}
			return by["c1"] == 1 && by["c2"] == 1, fmt.Sprint(by)
		})
	})

	t.Run("drain_moves_allocation", func(t *testing.T) {
		sandboxtest.Timer(t)
		id := nodeID(t, cl, "c1")
		if _, err := cl.Nodes().UpdateDrain(id, &api.DrainSpec{Deadline: time.Minute}, false, nil); err != nil {
			t.Fatal(err)
		}
		poll(t, c, 2*time.Minute, "c1 drained and both allocations running on c2", func() (bool, string) {
			by, err := runningByNode(cl, "sleeper")
			if err != nil {
				return false, err.Error()
			}
			n, _, err := cl.Nodes().Info(id, nil)
			if err != nil {
				return false, err.Error()
			}
			return by["c1"] == 0 && by["c2"] == 2 && !n.Drain, fmt.Sprintf("allocs %v, c1 drain=%v eligibility=%s", by, n.Drain, n.SchedulingEligibility)
		})
		// Leave the fleet as found: c1 eligible again.
		if _, err := cl.Nodes().ToggleEligibility(id, true, nil); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("follower_stop_keeps_leader_and_restart_upgrades_it", func(t *testing.T) {
		sandboxtest.Timer(t)
		leader, err := c.Leader()
		if err != nil {
			t.Fatal(err)
		}
		follower := "s1"
		if leader == "s1" {
			follower = "s2"
		}
		if err := c.StopServer(ctxFor(t, time.Minute), follower); err != nil {
			t.Fatal(err)
		}
		after, err := c.WaitLeader(ctxFor(t, time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if after == follower {
			t.Fatalf("stopped follower %s is reported as leader", follower)
		}
		if err := c.StartServer(ctxFor(t, 2*time.Minute), follower, sandbox.DefaultNomadVersion); err != nil {
			t.Fatal(err)
		}
		ms := members(t, cl)
		if got := ms[follower+".global"]; got != "alive "+sandbox.DefaultNomadVersion {
			t.Fatalf("member %s: %q, want alive %s; members %v", follower, got, sandbox.DefaultNomadVersion, ms)
		}
		old := 0
		for _, v := range ms {
			if v == "alive "+sandbox.OldNomadVersion {
				old++
			}
		}
		if old != 2 {
			t.Fatalf("want the two other servers still alive on %s; members %v", sandbox.OldNomadVersion, ms)
		}
		if _, err := c.WaitHealthy(ctxFor(t, time.Minute), 1); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("killing_the_leader_elects_another", func(t *testing.T) {
		sandboxtest.Timer(t)
		old, err := c.Leader()
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		if err := c.KillServer(ctxFor(t, time.Minute), old); err != nil {
			t.Fatal(err)
		}
		now, err := c.WaitLeader(ctxFor(t, time.Minute), old)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("leader %s killed, %s elected after %.1fs", old, now, time.Since(t0).Seconds())
		if err := c.StartServer(ctxFor(t, 2*time.Minute), old, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitHealthy(ctxFor(t, time.Minute), 1); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("add_and_remove_server_and_client", func(t *testing.T) {
		sandboxtest.Timer(t)
		if err := c.AddServer(ctxFor(t, 2*time.Minute), sandbox.ServerSpec{Name: "s4", Version: sandbox.DefaultNomadVersion}); err != nil {
			t.Fatal(err)
		}
		rc, err := cl.Operator().RaftGetConfiguration(nil)
		if err != nil || len(rc.Servers) != 4 {
			t.Fatalf("raft after add: %v %v", rc, err)
		}
		if err := c.RemoveServer(ctxFor(t, 2*time.Minute), "s4"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.WaitHealthy(ctxFor(t, time.Minute), 1); err != nil {
			t.Fatal(err)
		}
		if err := c.AddClient(ctxFor(t, 2*time.Minute), sandbox.ClientSpec{Name: "c3", NodePool: "blue", Meta: map[string]string{"color": "blue"}, Version: sandbox.OldNomadVersion}); err != nil {
			t.Fatal(err)
		}
		n, _, err := cl.Nodes().Info(nodeID(t, cl, "c3"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if n.NodePool != "blue" || n.Meta["color"] != "blue" || n.Status != "ready" {
			t.Fatalf("c3: pool %q meta %v status %s, want pool blue, color=blue, ready", n.NodePool, n.Meta, n.Status)
		}
		if err := c.RemoveClient(ctxFor(t, time.Minute), "c3"); err != nil {
			t.Fatal(err)
		}
		nodes, _, err := cl.Nodes().List(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nodes {
			if n.Name == "c3" {
				t.Fatalf("c3 still listed after RemoveClient: %s", n.Status)
			}
		}
	})

	t.Run("stop_leaves_no_process_port_or_mount", func(t *testing.T) {
		sandboxtest.Timer(t)
		if len(c.Processes()) == 0 {
			t.Fatal("no sandbox processes found before Stop; the process scan is broken")
		}
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
		if left := c.Processes(); len(left) > 0 {
			t.Fatalf("processes left after Stop: %v", describe(left))
		}
		var busy []int
		for _, p := range c.Ports() {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				busy = append(busy, p)
				continue
			}
			l.Close()
		}
		if len(busy) > 0 {
			t.Fatalf("ports still bound after Stop: %v", busy)
		}
		// Nomad mounts tmpfs on task secrets/private dirs; Stop must undo it.
		mounts, _ := os.ReadFile("/proc/self/mountinfo")
		if strings.Contains(string(mounts), c.Root()+"/") {
			t.Fatalf("mounts left under %s after Stop", c.Root())
		}
	})
}

func describe(pids []int) string {
	var s []string
	for _, pid := range pids {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		s = append(s, fmt.Sprintf("%d %s", pid, strings.ReplaceAll(string(cmd), "\x00", " ")))
	}
	sort.Strings(s)
	return strings.Join(s, "; ")
}
