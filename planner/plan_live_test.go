package planner

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/nomad/api"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

func TestMain(m *testing.M) { os.Exit(sandboxtest.Main(m)) }

// liveSandbox is the shared cluster of the live plan tests: 3 servers and
// 2 clients, no Consul. Every test leaves it as it found it.
func liveSandbox(t *testing.T) (*sandbox.Cluster, func(string) string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	// Servers on the old version, so the rolling upgrade (to the new one)
	// has every server to plan.
	spec := sandbox.DefaultSpec("", 3, 2, 0, sandbox.OldNomadVersion)
	for i := range spec.Clients {
		spec.Clients[i].Version = sandbox.DefaultNomadVersion
	}
	sb := sandboxtest.Shared(t, "plan", spec)
	env := map[string]string{}
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := sb.WaitHealthy(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return sb, func(k string) string { return env[k] }
}

// livePlan reads the live view for a runbook and resolves it, waiting
// until both clients are ready (they register a little after the servers
// are healthy).
func livePlan(t *testing.T, getenv func(string) string, path string, varFiles []string, opts ...cview.Option) (*Plan, *cview.View) {
	t.Helper()
	rb, diags := lang.Load(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	inputs, diags := lang.InputValues(rb, nil, varFiles)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	sopts, _ := SnapshotOptionsFor(rb, inputs)
	deadline := time.Now().Add(90 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		view, diags := LiveView(ctx, rb, inputs, getenv, opts...)
		cancel()
		if diags.HasErrors() {
			t.Fatalf("live view: %s", diags.Error())
		}
		ready := 0
		for _, n := range view.Nomad.Nodes {
			if n.Status == "ready" && n.Eligibility == "eligible" && !n.Drain {
				ready++
			}
		}
		if (ready == 2 || !sopts.Nodes) && view.Nomad.Raft.HealthyVoters() == 3 || time.Now().After(deadline) {
			t.Logf("%s: view after %s: %d ready nodes, %d healthy voters", path, time.Since(deadline.Add(-90*time.Second)).Round(time.Second), ready, view.Nomad.Raft.HealthyVoters())
			p, diags := Resolve(rb, inputs, view, ResolveOptions{})
			if diags.HasErrors() {
				t.Fatalf("resolve: %s", diags.Error())
			}
			return p, view
		}
		time.Sleep(time.Second)
	}
}

// TestLivePlan plans the rolling upgrade against real agents: the leader's
// instance comes last and the preconditions show live values. Then it
// drains a node and checks that a saved drain plan is reported stale, with
// the node named.
func TestLivePlan(t *testing.T) {
	sandboxtest.Timer(t)
	sb, getenv := liveSandbox(t)

	p, view := livePlan(t, getenv, upgradeRunbook, []string{sandboxVars})
	leader, err := sb.Leader()
	if err != nil {
		t.Fatal(err)
	}
	got := addrsOf(p, "step.upgrade")
	if len(got) != 3 || got[2] != fmt.Sprintf(`step.upgrade["%s.global"]`, leader) {
		t.Fatalf("upgrade instances %q: want all 3 servers, the leader %s last", got, leader)
	}
	first := p.Instance(got[0])
	q := first.Preconditions[0]
	if q.Now == nil || q.Now.Status != CheckOK || !strings.Contains(q.Now.Observed, "3/3 voters healthy, failure tolerance 1") {
		t.Errorf("quorum_ok now = %+v", q.Now)
	}
	if p.Cluster.Nomad.Leader != leader+".global" || p.Fingerprint.Nomad.Leader != leader+".global" || len(p.Fingerprint.Nomad.Voters) != 3 {
		t.Errorf("cluster %+v fingerprint %+v", p.Cluster.Nomad, p.Fingerprint.Nomad)
	}
	// An inventory file (the view's JSON, as nrun inventory writes it)
	// plans to the same bytes as the live view it was taken from.
	vb, err := json.Marshal(view)
	if err != nil {
		t.Fatal(err)
	}
	var fromFile cview.View
	if err := json.Unmarshal(vb, &fromFile); err != nil {
		t.Fatal(err)
	}
	rb, _ := lang.Load(upgradeRunbook)
	inputs, _ := lang.InputValues(rb, nil, []string{sandboxVars})
	// The same salt: the variable hashes are keyed randomly per plan.
	salt, err := hex.DecodeString(p.InputSalt)
	if err != nil {
		t.Fatal(err)
	}
	p2, _ := Resolve(rb, inputs, &fromFile, ResolveOptions{Salt: salt})
	b1, _ := json.Marshal(p)
	b2, _ := json.Marshal(p2)
	if string(b1) != string(b2) {
		t.Errorf("the plan from the inventory file differs from the live plan")
	}
	if d := CheckStale(p, view, p.Runbook.SourceHash); len(d) != 0 {
		t.Errorf("a plan is stale against its own view: %s", d.Error())
	}

	// A saved drain plan, through its JSON form as apply reads it.
	drain, _ := livePlan(t, getenv, drainRunbook, nil)
	b, err := json.Marshal(drain)
	if err != nil {
		t.Fatal(err)
	}
	var saved Plan
	if err := json.Unmarshal(b, &saved); err != nil {
		t.Fatal(err)
	}
	if len(saved.Fingerprint.Nodes) != 2 {
		t.Fatalf("fingerprint nodes = %+v", saved.Fingerprint.Nodes)
	}

	nc, err := sb.NomadClient()
	if err != nil {
		t.Fatal(err)
	}
	var c1 string
	for id, n := range saved.Fingerprint.Nodes {
		if n.Name == "c1" {
			c1 = id
		}
	}
	if c1 == "" {
		t.Fatalf("c1 not in the fingerprint %+v", saved.Fingerprint.Nodes)
	}
	if _, err := nc.Nodes().UpdateDrain(c1, &api.DrainSpec{Deadline: time.Minute}, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Leave the shared cluster as we found it: drain off, eligible.
		if _, err := nc.Nodes().UpdateDrain(c1, nil, true, nil); err != nil {
			t.Errorf("undo drain: %v", err)
		}
	})
	rb, _ = lang.Load(drainRunbook)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Views are read with stale reads allowed, so a follower may answer
	// from just before the drain: read again until the change shows, for
	// at most 10 s, then require exactly the one drift.
	var stale hcl.Diagnostics
	for deadline := time.Now().Add(10 * time.Second); ; {
		live, diags := LiveView(ctx, rb, nil, getenv)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		stale = CheckStale(&saved, live, RunbookSourceHash(rb))
		if len(stale) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(stale) != 1 || !strings.Contains(stale[0].Summary, "node c1 ("+c1[:8]+"): ModifyIndex") {
		t.Errorf("after draining c1, CheckStale = %s", stale.Error())
	}
}

// countingTransport counts the HTTP requests that pass through it.
type countingTransport struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// manySteps is a runbook with n steps over the same data sources, each
// with preconditions, so that a per-step read would show in the count.
func manySteps(t *testing.T, n int) string {
	var b strings.Builder
	b.WriteString(`runbook "many" {}
data "nomad_servers" "all" {}
data "nomad_nodes" "all" {}
step "snapshot" {
  action "nomad_snapshot_save" {
    path = "x.snap"
  }
}
`)
	for i := range n {
		fmt.Fprintf(&b, `step "s%d" {
  for_each   = data.nomad_nodes.all.by_name
  depends_on = [step.snapshot]
  target     = each.value
  precondition "node_ready" {}
  precondition "server_healthy" {
    server = data.nomad_servers.all.leader
  }
  action "nomad_node_eligibility" {
    eligible = true
  }
}
`, i)
	}
	path := t.TempDir() + "/many.nrun.hcl"
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLiveRequestCount plans runbooks of 5 and 50 steps against the
// sandbox: the API requests are one discovery per data source, so their
// number does not grow with the steps.
func TestLiveRequestCount(t *testing.T) {
	sandboxtest.Timer(t)
	_, getenv := liveSandbox(t)
	counts := map[int]int64{}
	for _, n := range []int{5, 50} {
		path := manySteps(t, n)
		livePlan(t, getenv, path, nil) // until the clients are ready
		ct := &countingTransport{next: http.DefaultTransport}
		rb, diags := lang.Load(path)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		view, diags := LiveView(ctx, rb, nil, getenv, cview.WithTransport(ct))
		cancel()
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		p, diags := Resolve(rb, nil, view, ResolveOptions{})
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		if p.Summary.Instances != 1+2*n {
			t.Fatalf("%d steps: %d instances", n, p.Summary.Instances)
		}
		counts[n] = ct.n.Load()
		t.Logf("%d steps: %d API requests", n, counts[n])
	}
	if counts[5] != counts[50] {
		t.Errorf("requests grow with steps: 5 steps %d, 50 steps %d", counts[5], counts[50])
	}
	// Servers (raft, autopilot, members, leader) plus the node list and
	// per node a read and an allocations read.
	if counts[50] > 12 {
		t.Errorf("%d requests to plan against 3 servers and 2 clients; want at most 12", counts[50])
	}
}
