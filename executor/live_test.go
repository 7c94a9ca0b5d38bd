package executor

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// liveEnv is a shared sandbox (3 servers, 2 clients in node pool "blue", no
// Consul) and the environment that points nrun at it. NOMAD_ADDR is client
// c1's HTTP API, which forwards to whichever server is up, as a load
// balancer would: every server is restarted by some test.
type liveEnv struct {
	sb   *sandbox.Cluster
	root string
	env  map[string]string
}

func (e liveEnv) getenv(k string) string { return e.env[k] }

func (e liveEnv) environ() []string {
	out := os.Environ()
	for k, v := range e.env {
		out = append(out, k+"="+v)
	}
	return out
}

func live(t *testing.T) liveEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	spec := sandbox.Spec{
		Servers: []sandbox.ServerSpec{{Name: "s1"}, {Name: "s2"}, {Name: "s3"}},
		Clients: []sandbox.ClientSpec{{Name: "c1", NodePool: "blue"}, {Name: "c2", NodePool: "blue"}},
	}
	sb := sandboxtest.Shared(t, "executor", spec)
	e := liveEnv{sb: sb, root: sb.Root(), env: map[string]string{"NOMAD_REGION": "global"}}
	for _, a := range sb.Agents() {
		if a.Name == "c1" {
			e.env["NOMAD_ADDR"] = "http://" + a.HTTPAddr()
		}
	}
	e.waitHealthy(t)
	return e
}

// api is a Nomad API client through c1.
func (e liveEnv) api(t *testing.T) *nomad.Client {
	c, err := nomad.NewClient(&nomad.Config{Address: e.env["NOMAD_ADDR"], Region: "global"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitHealthy waits until autopilot counts three healthy voters, so each
// test starts from (and leaves) a whole cluster.
func (e liveEnv) waitHealthy(t *testing.T) {
	t.Helper()
	c, _ := cluster.New(cluster.Config{}, cluster.WithGetenv(e.getenv))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		v, err := c.Snapshot(context.Background(), cluster.SnapshotOptions{Nomad: true})
		if err == nil && v.Nomad.Raft.HealthyVoters() == 3 && v.Nomad.Raft.Autopilot.Healthy {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sandbox did not become healthy: %v %+v", err, v)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// liveConfig loads src, plans it against the sandbox and returns the
// executor configuration.
func (e liveEnv) liveConfig(t testing.TB, dir, src string, ev *eventLog, vars ...string) Config {
	t.Helper()
	path := filepath.Join(dir, "main.nrun.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	rb, diags := lang.Load(path)
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags.Error())
	}
	inputs, diags := lang.InputValues(rb, vars, nil)
	if diags.HasErrors() {
		t.Fatalf("inputs: %s", diags.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	view, diags := planner.LiveView(ctx, rb, inputs, e.getenv)
	if diags.HasErrors() {
		t.Fatalf("live view: %s", diags.Error())
	}
	p, diags := planner.Resolve(rb, inputs, view, planner.ResolveOptions{})
	if diags.HasErrors() {
		for _, d := range diags {
			t.Logf("%s: %s", d.Summary, d.Detail)
		}
		t.Fatalf("resolve: %s", diags.Error())
	}
	cfgc, _ := planner.ClusterConfig(rb, inputs)
	cl, err := cluster.New(cfgc, cluster.WithGetenv(e.getenv), cluster.WithWaitTime(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	sc, diags := planner.NewScope(rb, inputs, view)
	if diags.HasErrors() {
		t.Fatalf("scope: %s", diags.Error())
	}
	cfg := testConfig(t, dir, rb, inputs, p, ev)
	cfg.Cluster, cfg.Scope = cl, sc
	return cfg
}

func (e liveEnv) sandboxCmd(t *testing.T, args ...string) {
	t.Helper()
	code, out := runNrun(t, e.root, append(append([]string{"sandbox"}, args...), "-dir", e.root)...)
	if code != 0 {
		t.Fatalf("nrun sandbox %v: exit %d\n%s", args, code, out)
	}
}

const rollingRestart = `
runbook "rolling-restart" {}
variable "sandbox" {
  type = string
}
variable "nrun" {
  type = string
}
data "nomad_servers" "all" {}
step "snapshot" {
  action "nomad_snapshot_save" {
    path = "backup/nomad.snap"
  }
}
step "restart" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.snapshot]
  precondition "quorum_ok" {}
  step "stop" {
    action "exec" {
      command = [var.nrun, "sandbox", "server", "stop", split(".", each.value.name)[0], "-dir", var.sandbox]
      effect  = "stop"
    }
  }
  step "start" {
    depends_on = [step.stop]
    action "exec" {
      command = [var.nrun, "sandbox", "server", "start", split(".", each.value.name)[0], "-dir", var.sandbox]
      effect  = "start"
    }
    wait "server_healthy" {
      timeout = "2m"
    }
  }
  wait "quorum_ok" {
    timeout = "2m"
  }
  wait "servers_healthy" {
    timeout = "2m"
  }
}
`

type sample struct {
	at     time.Time
	alive  []string
	leader string
	peers  int
}

// monitor samples which servers answer, who leads and how many Raft peers
// there are, every 100ms, until stop is closed.
func (e liveEnv) monitor(t *testing.T, stop <-chan struct{}) *[]sample {
	var mu sync.Mutex
	out := &[]sample{}
	via := e.api(t)
	go func() {
		for {
			s := sample{at: time.Now()}
			for _, name := range []string{"s1", "s2", "s3"} {
				c, err := e.sb.NomadClientFor(name)
				if err != nil {
					continue
				}
				// Self answers without a leader: it tells whether the
				// agent is up, even during an election.
				if _, err := c.Agent().Self(); err == nil {
					s.alive = append(s.alive, name)
				}
				if l, err := c.Status().Leader(); err == nil && s.leader == "" && l != "" {
					s.leader = e.serverByRPC(l)
				}
			}
			if rc, err := via.Operator().RaftGetConfiguration(&nomad.QueryOptions{AllowStale: true}); err == nil {
				s.peers = len(rc.Servers)
			}
			mu.Lock()
			*out = append(*out, s)
			mu.Unlock()
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return out
}

func (e liveEnv) serverByRPC(addr string) string {
	for _, a := range e.sb.Agents() {
		if a.RPCAddr() == addr {
			return a.Name
		}
	}
	return addr
}

// TestLiveRollingRestart restarts the three servers of a real cluster one
// at a time, followers first and the live leader last, with quorum_ok and
// server_healthy, while a monitor samples who is up and who leads.
func TestLiveRollingRestart(t *testing.T) {
	e := live(t)
	sandboxtest.Timer(t)
	dir := t.TempDir()
	ev := &eventLog{}
	cfg := e.liveConfig(t, dir, rollingRestart, ev, "sandbox="+e.root, "nrun="+nrunBin)
	stop := make(chan struct{})
	samples := e.monitor(t, stop)
	time.Sleep(300 * time.Millisecond)
	res, err := Run(context.Background(), cfg)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != journal.StatusFinished {
		log, _ := os.ReadFile(filepath.Join(res.RunDir, LogFile))
		t.Fatalf("%+v\n%s", res, log)
	}
	time.Sleep(150 * time.Millisecond) // let the monitor's last write land
	// When each stop began, and which server it stopped.
	type stopAt struct {
		at     time.Time
		server string
	}
	var stops []stopAt
	ev.mu.Lock()
	for _, x := range ev.ev {
		if x.Kind == EventStart && strings.HasSuffix(x.Addr, ".step.stop") {
			name := strings.TrimSuffix(strings.TrimPrefix(x.Addr, `step.restart["`), `.global"].step.stop`)
			stops = append(stops, stopAt{x.Time, name})
		}
	}
	ev.mu.Unlock()
	sort.Slice(stops, func(i, j int) bool { return stops[i].at.Before(stops[j].at) })
	if len(stops) != 3 {
		t.Fatalf("stops: %+v", stops)
	}
	leaderAt := func(at time.Time) string {
		l := ""
		for _, s := range *samples {
			if s.at.After(at) {
				break
			}
			if s.leader != "" {
				l = s.leader
			}
		}
		return l
	}
	for i, s := range stops {
		l := leaderAt(s.at)
		if i < 2 && l == s.server {
			t.Errorf("stop %d of %s while it was the leader; the leader must go last", i+1, s.server)
		}
		if i == 2 && l != s.server {
			t.Logf("the last server stopped, %s, was not the leader (%s) when picked: leadership moved during the restarts", s.server, l)
		}
		t.Logf("stop %d: %s at %s (leader %s)", i+1, s.server, s.at.Format("15:04:05.000"), l)
	}
	minAlive, pruned := 3, false
	for _, s := range *samples {
		if len(s.alive) < minAlive {
			minAlive = len(s.alive)
		}
		if s.peers > 0 && s.peers < 3 {
			pruned = true
		}
	}
	if minAlive < 2 {
		t.Errorf("at some moment only %d servers answered: quorum was lost", minAlive)
	}
	t.Logf("%d samples, at least %d servers up at every sample, autopilot pruned a stopped server: %v", len(*samples), minAlive, pruned)
	// The snapshot: digest in the journal matches the file.
	recs, _ := journal.Read(filepath.Join(res.RunDir, journal.FileName))
	for _, r := range recs {
		if r.Kind == journal.KindActionDone && r.Addr == "step.snapshot" {
			data, err := os.ReadFile(filepath.Join(dir, "backup", "nomad.snap"))
			if err != nil || sha256Hex(data) != r.Digest {
				t.Errorf("snapshot digest %s does not match the file (%v)", r.Digest, err)
			}
		}
	}
	e.waitHealthy(t)
}

// TestLivePreconditionBlocks stops one server, then runs a step that would
// stop another behind quorum_ok: the precondition must block before the
// action.
func TestLivePreconditionBlocks(t *testing.T) {
	e := live(t)
	sandboxtest.Timer(t)
	// Autopilot may prune a stopped server from Raft within seconds (seen
	// in about one run in three). Then the plan sees 2 voters and the
	// safety analysis refuses it (NR-S002) before any precondition runs:
	// safe, but not what this test is about. Keep s1 a voter while down.
	op := e.api(t).Operator()
	orig, _, err := op.AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	keep := *orig
	keep.CleanupDeadServers = false
	if _, err := op.AutopilotSetConfiguration(&keep, nil); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := op.AutopilotSetConfiguration(orig, nil); err != nil {
			t.Errorf("restore autopilot configuration: %v", err)
		}
	}()
	e.sandboxCmd(t, "server", "stop", "s1")
	// Right after the stop autopilot may still call s1 healthy, with the
	// figures it had before (gossip can take tens of seconds to call it
	// failed): server_healthy must not hold on those. (The client agent
	// behind NOMAD_ADDR answers 500 until it has rotated off s1: read
	// until it answers, as the executor's preconditions do.)
	{
		c, _ := cluster.New(cluster.Config{}, cluster.WithGetenv(e.getenv))
		for i := 0; i < 100; i++ {
			if _, err := c.Snapshot(context.Background(), cluster.SnapshotOptions{Nomad: true}); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		dir := t.TempDir()
		ev := &eventLog{}
		cfg := e.liveConfig(t, dir, `
data "nomad_servers" "all" {}
step "check_s1" {
  target = data.nomad_servers.all.by_name["s1.global"]
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
  wait "server_healthy" {
    timeout = "6s"
  }
}
`, ev)
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, x := range ev.ev {
			if x.Kind == EventWait {
				seen = append(seen, x.Message)
			}
		}
		if res.Status != journal.StatusFailed {
			t.Fatalf("server_healthy held for a stopped server: %+v\n%q", res, seen)
		}
		t.Logf("server_healthy on the stopped s1: %q", seen)
	}
	defer func() {
		e.sandboxCmd(t, "server", "start", "s1")
		e.waitHealthy(t)
	}()
	c, _ := cluster.New(cluster.Config{}, cluster.WithGetenv(e.getenv))
	deadline := time.Now().Add(time.Minute)
	for {
		v, err := c.Snapshot(context.Background(), cluster.SnapshotOptions{Nomad: true})
		if err == nil && v.Nomad.Raft.HealthyVoters() <= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("autopilot never noticed s1 was down")
		}
		time.Sleep(200 * time.Millisecond)
	}
	dir := t.TempDir()
	ev := &eventLog{}
	cfg := e.liveConfig(t, dir, `
data "nomad_servers" "all" {}
step "snapshot" {
  action "nomad_snapshot_save" {
    path = "s.snap"
  }
}
step "stop_s2" {
  depends_on = [step.snapshot]
  target = data.nomad_servers.all.by_name["s2.global"]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["touch", "stopped-s2"]
    effect  = "stop"
  }
  wait "server_healthy" {
    timeout = "1m"
  }
}
`, ev)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != journal.StatusFailed || len(res.Failed) != 1 || res.Failed[0] != "step.stop_s2" {
		t.Fatalf("%+v", res)
	}
	if _, err := os.Stat(filepath.Join(dir, "stopped-s2")); err == nil {
		t.Fatal("the disruptive action ran although quorum_ok failed")
	}
	blocked := false
	for _, x := range ev.ev {
		if x.Kind == EventPrecondition && x.Check == "quorum_ok" && !x.OK {
			blocked = true
			t.Logf("blocked: %s", x.Message)
		}
	}
	if !blocked {
		t.Fatal("no failing quorum_ok event")
	}
}

// drainPool drains the nodes of pool blue one at a time.
var drainPool = drainRunbook("blue", 1, "1m", "2m")

// webJob runs two allocations on pool blue (migrate one at a time).
func webJob() *nomad.Job { return sleepJob("web", "blue", 2, 1) }

func ptr[T any](v T) *T { return &v }

func runningAllocs(c *nomad.Client) (int, []*nomad.AllocationListStub, error) {
	allocs, _, err := c.Jobs().Allocations("web", false, &nomad.QueryOptions{AllowStale: true})
	if err != nil {
		return 0, nil, err
	}
	n := 0
	for _, a := range allocs {
		if a.ClientStatus == "running" && a.DesiredStatus == "run" {
			n++
		}
	}
	return n, allocs, nil
}

// TestLiveDrainPool drains both clients of pool blue one at a time while a
// count-2 raw_exec job runs, re-enabling each after its drain: the job never
// has fewer than one running allocation. It also measures how fast the next
// step starts after a drain has completed in Nomad.
func TestLiveDrainPool(t *testing.T) {
	e := live(t)
	sandboxtest.Timer(t)
	api := e.api(t)
	if _, _, err := api.Jobs().Register(webJob(), nil); err != nil {
		t.Fatal(err)
	}
	defer api.Jobs().Deregister("web", true, nil)
	deadline := time.Now().Add(time.Minute)
	for {
		n, _, err := runningAllocs(api)
		if err == nil && n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job web did not reach 2 running allocations (%d, %v)", n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	nodes := map[string]string{"c1": nodeIDOf(api, "c1"), "c2": nodeIDOf(api, "c2")}
	var reactions []time.Duration
	for round := 0; round < 2; round++ {
		stop := make(chan struct{})
		minRunning := 2
		var mu sync.Mutex
		go func() {
			for {
				if n, _, err := runningAllocs(api); err == nil {
					mu.Lock()
					if n < minRunning {
						minRunning = n
					}
					mu.Unlock()
				}
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
		// An independent observer notes when each drain completed.
		obs := observeDrains(api, nodes, time.Now().Add(-time.Second))
		dir := t.TempDir()
		ev := &eventLog{}
		cfg := e.liveConfig(t, dir, drainPool, ev)
		res, err := Run(context.Background(), cfg)
		close(stop)
		obs.close()
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != journal.StatusFinished {
			log, _ := os.ReadFile(filepath.Join(res.RunDir, LogFile))
			t.Fatalf("round %d: %+v\n%s", round, res, log)
		}
		mu.Lock()
		if minRunning < 1 {
			t.Errorf("round %d: the job had %d running allocations during the drains", round, minRunning)
		}
		t.Logf("round %d: at least %d allocations ran at every sample", round, minRunning)
		mu.Unlock()

		// Reaction: from the observer seeing the drain complete to the
		// start of the node's next step.
		reactions = append(reactions, obs.reactions(t, fmt.Sprintf("round %d", round), nodes, ev)...)
	}
	sort.Slice(reactions, func(i, j int) bool { return reactions[i] < reactions[j] })
	if len(reactions) == 0 {
		t.Fatal("no reaction time measured")
	}
	med := reactions[len(reactions)/2]
	t.Logf("reaction from drain complete to next step start: %v (median %v)", reactions, med)
	if med > 100*time.Millisecond {
		t.Errorf("median reaction %v; the waits should react within 100ms", med)
	}
}

func nodeIDOf(c *nomad.Client, name string) string {
	stubs, _, _ := c.Nodes().List(nil)
	for _, s := range stubs {
		if s.Name == name {
			return s.ID
		}
	}
	return ""
}

// TestLiveSavedPlan applies a saved plan while it still holds, and refuses
// one made before the target node changed.
func TestLiveSavedPlan(t *testing.T) {
	e := live(t)
	sandboxtest.Timer(t)
	dir := writeRunbook(t, `
variable "pw" {
  type      = string
  sensitive = true
}
data "nomad_nodes" "blue" {
  node_pool = "blue"
}
step "enable" {
  target = data.nomad_nodes.blue.by_name["c2"]
  action "nomad_node_eligibility" {
    eligible = true
  }
}
`)
	run := func(args ...string) (int, string) {
		cmd := exec.Command(nrunBin, args...)
		cmd.Dir, cmd.Env = dir, e.environ()
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := run("plan", "-detailed-exitcode", "-out", "fresh.json", "-var", "pw=s3cret", "main.nrun.hcl"); code != 2 {
		t.Fatalf("plan: exit %d\n%s", code, out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "fresh.json")); strings.Contains(string(b), "s3cret") {
		t.Fatal("the plan file holds the sensitive value")
	}
	// The sensitive value must be given again, and be the same.
	if code, out := run("apply", "fresh.json"); code != 1 || !strings.Contains(out, "No value for variable pw") {
		t.Fatalf("apply without the sensitive value: exit %d\n%s", code, out)
	}
	if code, out := run("apply", "-var", "pw=other", "fresh.json"); code != 1 || !strings.Contains(out, "differs from the plan") || strings.Contains(out, "other") && strings.Contains(out, "s3cret") {
		t.Fatalf("apply with another sensitive value: exit %d\n%s", code, out)
	}
	if code, out := run("apply", "-var", "pw=s3cret", "fresh.json"); code != 0 {
		t.Fatalf("apply of a fresh plan: exit %d\n%s", code, out)
	}
	if code, out := run("plan", "-detailed-exitcode", "-out", "old.json", "-var", "pw=s3cret", "main.nrun.hcl"); code != 2 {
		t.Fatalf("plan: exit %d\n%s", code, out)
	}
	api := e.api(t)
	id := nodeIDOf(api, "c2")
	if _, err := api.Nodes().ToggleEligibility(id, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := api.Nodes().ToggleEligibility(id, true, nil); err != nil {
		t.Fatal(err)
	}
	code, out := run("apply", "-var", "pw=s3cret", "old.json")
	if code != 1 || !strings.Contains(out, "no longer matches") || !strings.Contains(out, "c2") {
		t.Fatalf("apply of a stale plan: exit %d\n%s", code, out)
	}
	if strings.Contains(out, "run 20") {
		t.Fatalf("a stale plan started a run:\n%s", out)
	}
	t.Logf("refused:\n%s", out)
}

const transferRestart = `
variable "sandbox" {
  type = string
}
variable "nrun" {
  type = string
}
data "nomad_servers" "all" {}
step "snapshot" {
  action "nomad_snapshot_save" {
    path = "backup/nomad.snap"
  }
}
step "restart" {
  for_each     = data.nomad_servers.all.by_name
  max_parallel = 1
  depends_on   = [step.snapshot]
  precondition "quorum_ok" {}
  precondition "leader_not_target" {
    transfer = true
  }
  step "stop" {
    action "exec" {
      command = ["sh", "-c", "\"$0\" sandbox status -json -dir \"$1\" > \"status-$2.json\" && \"$0\" sandbox server stop \"$2\" -dir \"$1\"", var.nrun, var.sandbox, split(".", each.value.name)[0]]
      effect  = "stop"
    }
  }
  step "start" {
    depends_on = [step.stop]
    action "exec" {
      command = [var.nrun, "sandbox", "server", "start", split(".", each.value.name)[0], "-dir", var.sandbox]
      effect  = "start"
    }
    wait "server_healthy" {
      timeout = "2m"
    }
  }
  wait "servers_healthy" {
    timeout = "2m"
  }
}
`

// TestLiveLeaderTransfer restarts every server in key order with
// leader_not_target { transfer = true }: when the leader's turn comes,
// leadership moves to a server already restarted, so no server is ever
// stopped while it leads.
func TestLiveLeaderTransfer(t *testing.T) {
	e := live(t)
	sandboxtest.Timer(t)
	dir := t.TempDir()
	ev := &eventLog{}
	cfg := e.liveConfig(t, dir, transferRestart, ev, "sandbox="+e.root, "nrun="+nrunBin)
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != journal.StatusFinished {
		log, _ := os.ReadFile(filepath.Join(res.RunDir, LogFile))
		t.Fatalf("%+v\n%s", res, log)
	}
	for _, name := range []string{"s1", "s2", "s3"} {
		data, err := os.ReadFile(filepath.Join(dir, "status-"+name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var st sandbox.Status
		if err := json.Unmarshal(data, &st); err != nil {
			t.Fatal(err)
		}
		for _, s := range st.Servers {
			if s.Name == name && s.Leader {
				t.Errorf("%s was the leader when it was stopped", name)
			}
		}
	}
	transfers := 0
	for _, x := range ev.ev {
		if x.Kind == EventInfo && strings.Contains(x.Message, "transferring leadership") {
			transfers++
			t.Logf("%s: %s", x.Addr, x.Message)
		}
	}
	if transfers == 0 {
		t.Error("no leadership transfer happened, yet every server was restarted")
	}
	e.waitHealthy(t)
}

const crashDrain = `
data "nomad_nodes" "blue" {
  node_pool = "blue"
}
step "e1" {
  action "exec" {
    command = ["sh", "-c", "echo run >> counts/e1"]
    check   = ["sh", "-c", "test -s counts/e1"]
    effect  = "none"
  }
}
step "nap" {
  depends_on = [step.e1]
  action "sleep" {
    duration = "50ms"
  }
}
step "cycle" {
  for_each     = data.nomad_nodes.blue.by_name
  max_parallel = 1
  depends_on   = [step.nap]
  step "drain" {
    action "nomad_node_drain" {
      deadline = "30s"
    }
  }
  step "mark" {
    depends_on = [step.drain]
    action "exec" {
      command = ["sh", "-c", "echo run >> counts/mark-${each.key}"]
      check   = ["sh", "-c", "test -s counts/mark-${each.key}"]
      effect  = "none"
    }
  }
  step "enable" {
    depends_on = [step.mark]
    action "nomad_node_eligibility" {
      eligible = true
    }
  }
}
step "e2" {
  depends_on = [step.cycle]
  action "exec" {
    command = ["sh", "-c", "echo run >> counts/e2"]
    check   = ["sh", "-c", "test -s counts/e2"]
    effect  = "none"
  }
}
`

// TestLiveCrashResumeDrain is TestCrashResume on a runbook that drains real
// nodes: SIGKILL at a random moment, resume, and every node ends drained
// once and eligible again, every exec ran exactly once.
func TestLiveCrashResumeDrain(t *testing.T) {
	e := live(t)
	sandboxtest.Timer(t)
	api := e.api(t)
	run := func(dir string, args ...string) (int, string) {
		cmd := exec.Command(nrunBin, args...)
		cmd.Dir, cmd.Env = dir, e.environ()
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	// One uninterrupted run gives the span to kill in.
	full := writeRunbook(t, crashDrain)
	os.Mkdir(filepath.Join(full, "counts"), 0o755)
	t0 := time.Now()
	if code, out := run(full, "apply", "-auto-approve", "main.nrun.hcl"); code != 0 {
		t.Fatalf("uninterrupted run: exit %d\n%s", code, out)
	}
	span := time.Since(t0)
	t.Logf("an uninterrupted run takes %s", span)
	iterations := 6
	for it := 0; it < iterations; it++ {
		dir := writeRunbook(t, crashDrain)
		os.Mkdir(filepath.Join(dir, "counts"), 0o755)
		cmd := exec.Command(nrunBin, "apply", "-auto-approve", "main.nrun.hcl")
		cmd.Dir, cmd.Env = dir, e.environ()
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := span * time.Duration(it+1) / time.Duration(iterations+1)
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		code, text := run(dir, "apply", "-resume", "main.nrun.hcl")
		if code != 0 && strings.Contains(text, "no unfinished run") {
			code, text = run(dir, "apply", "-auto-approve", "main.nrun.hcl")
		}
		if code != 0 {
			journals, _ := filepath.Glob(filepath.Join(dir, ".nrun", "runs", "*", "journal.jsonl"))
			var jtext strings.Builder
			for _, j := range journals {
				b, _ := os.ReadFile(j)
				fmt.Fprintf(&jtext, "--- %s\n%s", j, b)
			}
			t.Fatalf("iteration %d (killed after %s): exit %d\n%s\nfirst run:\n%s\njournals:\n%s", it, delay, code, text, out.String(), jtext.String())
		}
		for _, n := range []string{"e1", "e2", "mark-c1", "mark-c2"} {
			data, err := os.ReadFile(filepath.Join(dir, "counts", n))
			if err != nil || strings.Count(string(data), "run") != 1 {
				t.Fatalf("iteration %d (killed after %s): %s: %q %v", it, delay, n, data, err)
			}
		}
		for _, node := range []string{"c1", "c2"} {
			n, _, err := api.Nodes().Info(nodeIDOf(api, node), nil)
			if err != nil || n.DrainStrategy != nil || n.SchedulingEligibility != "eligible" {
				t.Fatalf("iteration %d: node %s after resume: drain %+v eligibility %s %v", it, node, n.DrainStrategy, n.SchedulingEligibility, err)
			}
		}
	}
}

// TestLiveServerRemoval removes a stopped server from Raft and gossip and
// moves leadership with the action, on a sandbox of its own; then resumes a
// run whose remove_peer intent was journalled without its completion, and
// checks that the probe sees the peer gone instead of removing it again.
func TestLiveServerRemoval(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sandboxtest.Timer(t)
	sb := sandboxtest.New(t, sandbox.DefaultSpec("", 3, 0, 0, sandbox.DefaultNomadVersion))
	e := liveEnv{sb: sb, root: sb.Root(), env: map[string]string{"NOMAD_REGION": "global"}}
	for _, a := range sb.Agents() {
		if a.Name == "s1" {
			e.env["NOMAD_ADDR"] = "http://" + a.HTTPAddr()
		}
	}
	e.waitHealthy(t)
	ctx := context.Background()
	src := `
variable "nrun" {
  type = string
}
variable "sandbox" {
  type = string
}
data "nomad_servers" "all" {}
step "snapshot" {
  action "nomad_snapshot_save" {
    path = "s.snap"
  }
}
step "stop" {
  depends_on = [step.snapshot]
  target     = data.nomad_servers.all.by_name["s3.global"]
  precondition "quorum_ok" {}
  # Without it, stopping s3 while it leads starts an election, and the
  # next step's quorum_ok may read a new leader whose autopilot has not
  # yet seen anyone healthy (it refuses, safely, but this test is about
  # the removal).
  precondition "leader_not_target" {
    transfer = true
  }
  action "exec" {
    command = [var.nrun, "sandbox", "server", "stop", "s3", "-dir", var.sandbox]
    effect  = "stop"
  }
}
step "remove" {
  depends_on = [step.stop]
  target     = data.nomad_servers.all.by_name["s3.global"]
  precondition "quorum_ok" {}
  action "nomad_raft_remove_peer" {}
  wait "raft_peer_absent" {
    timeout = "1m"
  }
}
step "leave" {
  depends_on = [step.remove]
  target     = data.nomad_servers.all.by_name["s3.global"]
  precondition "quorum_ok" {}
  action "nomad_server_force_leave" {
    prune = true
  }
}
step "lead" {
  depends_on = [step.leave]
  action "nomad_raft_transfer_leadership" {
    to = data.nomad_servers.all.by_name["s1.global"]
  }
}
`
	dir := t.TempDir()
	ev := &eventLog{}
	cfg := e.liveConfig(t, dir, src, ev, "nrun="+nrunBin, "sandbox="+e.root)
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != journal.StatusFinished {
		log, _ := os.ReadFile(filepath.Join(res.RunDir, LogFile))
		t.Fatalf("%+v\n%s", res, log)
	}
	api := e.api(t)
	rc, err := api.Operator().RaftGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rc.Servers {
		if p.Node == "s3.global" {
			t.Errorf("s3 is still a Raft peer: %+v", p)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		l, err := api.Status().Leader()
		if err == nil && e.serverByRPC(l) == "s1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("leader is %s (%v), want s1 after the transfer", l, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A run that died right after journalling the removal's intent.
	dir2 := t.TempDir()
	cfg2 := e.liveConfig(t, dir2, `
step "remove" {
  target = "s3.global"
  precondition "quorum_ok" {}
  action "nomad_raft_remove_peer" {}
  allow_unsafe {
    rules  = ["NR-S004", "NR-S007"]
    reason = "test of the resume probe"
  }
}
`, nil)
	runID := "20260101T000000Z-000001"
	os.MkdirAll(RunDir(cfg2.StateDir, runID), 0o700)
	j, err := journal.Open(filepath.Join(RunDir(cfg2.StateDir, runID), journal.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	j.Append(journal.Record{Kind: journal.KindRun, RunID: runID, Runbook: cfg2.RunbookName, SourceHash: cfg2.Plan.Runbook.SourceHash, Instances: planAddrs(cfg2.Plan)},
		journal.Record{Kind: journal.KindIntent, Addr: "step.remove", Action: "nomad_raft_remove_peer", Attempt: 1})
	j.Close()
	cfg2.Resume = true
	res, err = Run(ctx, cfg2)
	if err != nil || res.Status != journal.StatusFinished {
		t.Fatalf("resume: %v %+v", err, res)
	}
	recs, _ := journal.Read(filepath.Join(res.RunDir, journal.FileName))
	probed := false
	for _, r := range recs {
		if r.Kind == journal.KindProbe && r.Addr == "step.remove" {
			probed = r.Status == string(probeDone)
			t.Logf("probe: %s: %s", r.Status, r.Detail)
		}
		if r.Kind == journal.KindIntent && r.Seq > 2 {
			t.Errorf("the action ran again after the probe: %+v", r)
		}
	}
	if !probed {
		t.Fatalf("no probe settled the in-doubt removal: %+v", recs)
	}
}
