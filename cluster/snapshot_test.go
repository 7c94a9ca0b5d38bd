package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "snapshot", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; run go test ./cluster -update and review the diff.\ngot:\n%s", path, got)
	}
}

func TestSnapshotHealthy(t *testing.T) {
	f := newFakeAPI(t, "testdata/api/healthy3.json")
	rt := &countingTransport{}
	c := newTestClient(t, f, rt, "NOMAD_TOKEN", "nomad-secret-1", "CONSUL_HTTP_TOKEN", "consul-secret-2")

	v, err := c.Snapshot(context.Background(), SnapshotOptions{
		Nomad: true, Consul: true, Nodes: true,
		NodeFilters: []NodeFilter{{NodePool: "blue"}},
		Jobs:        []JobRef{{ID: "web"}, {ID: "gone"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The fake servers listen on random ports.
	v.Nomad.Address, v.Consul.Address = "http://nomad.test:4646", "http://consul.test:8500"
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "healthy3.json", append(b, '\n'))

	// Nomad: raft, members, leader, autopilot, node list, 2 x (node,
	// allocations) for the blue nodes only, job + deployment for web, job
	// for gone. Consul: raft, members, leader, autopilot, catalog nodes,
	// critical checks.
	if got, want := rt.count(), 4+1+2*2+2+1+6; got != want {
		t.Errorf("Snapshot made %d requests, want %d", got, want)
	}
	if n := f.count("nomad GET /v1/node/c0ffee00-0000-4000-8000-000000000003"); n != 0 {
		t.Errorf("the green node g1 was read %d times; the pool filter should skip it before the full read", n)
	}
	for i, tok := range f.tokens {
		if tok != "nomad-secret-1" && tok != "consul-secret-2" {
			t.Errorf("request %d carried token %q, want the configured one", i, tok)
		}
	}
	if bytes.Contains(b, []byte("secret")) {
		t.Errorf("view JSON contains a token")
	}

	r := v.Nomad.Raft
	if r.Voters() != 3 || r.HealthyVoters() != 3 || r.Quorum() != 2 || r.FailureTolerance() != 1 {
		t.Errorf("voters %d healthy %d quorum %d tolerance %d, want 3 3 2 1", r.Voters(), r.HealthyVoters(), r.Quorum(), r.FailureTolerance())
	}
	if l, ok := r.Leader(); !ok || l.Name != "s1.global" {
		t.Errorf("leader = %+v, %v; want s1.global", l, ok)
	}
	if len(r.Servers) != 3 {
		t.Errorf("got %d servers, want the 3 of region global (not europe's)", len(r.Servers))
	}
	if s, ok := r.Find("s2"); !ok || s.Address != "127.0.0.1:4657" || s.Version != "1.10.0" || s.Status != "alive" || !s.Healthy {
		t.Errorf("Find(s2) = %+v, %v", s, ok)
	}
	if _, ok := r.Find("127.0.0.1"); ok {
		t.Errorf("Find by a host shared by three servers must not pick one")
	}
	c1, ok := v.Nomad.Node("c1")
	if !ok || c1.Allocs.NonTerminal != 2 || c1.Allocs.System != 1 || c1.LastDrain == nil || c1.LastDrain.Status != "complete" || c1.Meta["rack"] != "r1" {
		t.Errorf("c1 = %+v", c1)
	}
	if got := v.Nomad.NodesMatching(NodeFilter{Meta: map[string]string{"rack": "r2"}}); len(got) != 1 || got[0].Name != "c2" {
		t.Errorf("NodesMatching(rack=r2) = %+v", got)
	}
	if got := v.Nomad.NodesMatching(NodeFilter{Name: regexp.MustCompile(`^c`), Status: "ready"}); len(got) != 2 {
		t.Errorf("NodesMatching(name ^c) = %d nodes, want 2", len(got))
	}
	if _, ok := v.Nomad.Job("", "gone"); ok {
		t.Errorf("a 404 job must be left out of the view")
	}
	cr := v.Consul.Raft
	if cr.Voters() != 3 || cr.FailureTolerance() != 1 || v.Consul.Datacenter != "dc1" {
		t.Errorf("consul voters %d tolerance %d dc %q", cr.Voters(), cr.FailureTolerance(), v.Consul.Datacenter)
	}
	if n, _ := v.Consul.Node("c1"); !n.Maintenance || n.MaintenanceReason != "nomad upgrade" {
		t.Errorf("consul node c1 = %+v, want in maintenance", n)
	}
	if n, _ := v.Consul.Node("cs2"); n.Maintenance {
		t.Errorf("cs2 has a critical service check, not node maintenance: %+v", n)
	}

	// The golden file must read back into an equal view.
	var back View
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.MarshalIndent(&back, "", "  ")
	if !bytes.Equal(b, b2) {
		t.Errorf("View does not survive a JSON round trip")
	}
}

const unhealthyNomad = `{"Healthy": false, "FailureTolerance": 0, "Leader": "6b0c8b1a-2f0e-4a4c-9a57-1f0c5c1a0001",
 "Servers": [
  {"ID": "6b0c8b1a-2f0e-4a4c-9a57-1f0c5c1a0001", "Name": "s1.global", "Address": "127.0.0.1:4647", "SerfStatus": "alive", "Version": "1.10.0", "Leader": true, "LastContact": "0s", "Healthy": true, "Voter": true, "StableSince": "2026-11-22T06:50:10Z"},
  {"ID": "6b0c8b1a-2f0e-4a4c-9a57-1f0c5c1a0002", "Name": "s2.global", "Address": "127.0.0.1:4657", "SerfStatus": "alive", "Version": "1.10.0", "Leader": false, "LastContact": "5ms", "Healthy": true, "Voter": true, "StableSince": "2026-11-22T06:50:10Z"},
  {"ID": "6b0c8b1a-2f0e-4a4c-9a57-1f0c5c1a0003", "Name": "s3.global", "Address": "127.0.0.1:4667", "SerfStatus": "failed", "Version": "1.10.0", "Leader": false, "LastContact": "-1ns", "Healthy": false, "Voter": true, "StableSince": "2026-11-22T07:10:00Z"}]}`

func TestSnapshotUnhealthyIsAnAnswer(t *testing.T) {
	f := newFakeAPI(t, "testdata/api/healthy3.json")
	f.set("nomad GET /v1/operator/autopilot/health", answer{Status: 429, Body: json.RawMessage(unhealthyNomad)})
	f.set("consul GET /v1/operator/autopilot/health", answer{Status: 429, Body: json.RawMessage(
		`{"Healthy": false, "FailureTolerance": 0, "Servers": [
		 {"ID": "11111111-aaaa-4bbb-8ccc-000000000001", "Name": "cs1", "Address": "127.0.0.1:8300", "SerfStatus": "alive", "Leader": true, "Healthy": true, "Voter": true},
		 {"ID": "11111111-aaaa-4bbb-8ccc-000000000002", "Name": "cs2", "Address": "127.0.0.1:8310", "SerfStatus": "failed", "Leader": false, "Healthy": false, "Voter": true},
		 {"ID": "11111111-aaaa-4bbb-8ccc-000000000003", "Name": "cs3", "Address": "127.0.0.1:8320", "SerfStatus": "alive", "Leader": false, "Healthy": true, "Voter": true}]}`)})
	c := newTestClient(t, f, nil)
	v, err := c.Snapshot(context.Background(), SnapshotOptions{Nomad: true, Consul: true})
	if err != nil {
		t.Fatalf("429 from autopilot is an answer, got error %v", err)
	}
	for name, r := range map[string]RaftView{"nomad": v.Nomad.Raft, "consul": v.Consul.Raft} {
		if r.Autopilot.StatusCode != 429 || r.Autopilot.Healthy {
			t.Errorf("%s autopilot = %+v, want unhealthy 429", name, r.Autopilot)
		}
		if r.HealthyVoters() != 2 || r.FailureTolerance() != 0 {
			t.Errorf("%s healthy voters %d tolerance %d, want 2 and 0", name, r.HealthyVoters(), r.FailureTolerance())
		}
	}
	if s, _ := v.Nomad.Raft.Find("s3"); s.Healthy || s.SerfStatus != "failed" {
		t.Errorf("s3 = %+v, want unhealthy", s)
	}
	if n := v.Nomad.Nodes; n != nil {
		t.Errorf("nodes were read without SnapshotOptions.Nodes: %v", n)
	}
}

func TestSnapshotNodePurgedMidway(t *testing.T) {
	f := newFakeAPI(t, "testdata/api/healthy3.json")
	f.set("nomad GET /v1/node/c0ffee00-0000-4000-8000-000000000002", answer{Status: 404, Body: json.RawMessage(`"node not found"`)})
	c := newTestClient(t, f, nil)
	v, err := c.Snapshot(context.Background(), SnapshotOptions{Nomad: true, Nodes: true, NodeFilters: []NodeFilter{{NodePool: "blue"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Nomad.Nodes) != 1 || v.Nomad.Nodes[0].Name != "c1" {
		t.Errorf("nodes = %+v, want only c1", v.Nomad.Nodes)
	}
}

func TestSnapshotNoLeader(t *testing.T) {
	f := newFakeAPI(t, "testdata/api/healthy3.json")
	f.set("nomad GET /v1/status/leader", answer{Body: json.RawMessage(`""`)})
	f.set("nomad GET /v1/operator/autopilot/health", answer{Status: 500, Body: json.RawMessage(`"No cluster leader"`)})
	c := newTestClient(t, f, nil)
	v, err := c.Snapshot(context.Background(), SnapshotOptions{Nomad: true})
	if err != nil {
		t.Fatalf("a leaderless cluster must still give a view, got %v", err)
	}
	r := v.Nomad.Raft
	if !strings.Contains(r.Autopilot.Error, "No cluster leader") {
		t.Errorf("Autopilot.Error = %q, want the server's reason", r.Autopilot.Error)
	}
	if r.Voters() != 3 || r.HealthyVoters() != 0 || r.FailureTolerance() != -2 {
		t.Errorf("voters %d healthy %d tolerance %d, want 3 0 -2 (negative, not clamped)", r.Voters(), r.HealthyVoters(), r.FailureTolerance())
	}
	// The raft configuration still marks s1 as leader (stale read); the
	// view keeps what the server said.
	if v.Consul != nil {
		t.Errorf("Consul was read although not asked for")
	}
}

func TestSnapshotErrors(t *testing.T) {
	const token = "s3cr3t-t0ken-value"
	cases := map[string]struct {
		setup       func(f *fakeAPI) func(string) string
		wantProblem Problem
		wantStatus  int
		hint        []string
	}{
		"unreachable": {
			setup: func(f *fakeAPI) func(string) string {
				f.nomad.Close()
				return f.env("NOMAD_TOKEN", token)
			},
			wantProblem: ProblemUnreachable,
			hint:        []string{"NOMAD_ADDR", "(from NOMAD_ADDR)", "No agent answered"},
		},
		"forbidden": {
			setup: func(f *fakeAPI) func(string) string {
				f.set("nomad GET /v1/operator/raft/configuration", answer{Status: 403, Body: json.RawMessage(`"Permission denied"`)})
				f.set("nomad GET /v1/operator/autopilot/health", answer{Status: 403, Body: json.RawMessage(`"Permission denied"`)})
				return f.env("NOMAD_TOKEN", token)
			},
			wantProblem: ProblemPermission,
			wantStatus:  403,
			hint:        []string{"The token in NOMAD_TOKEN was refused"},
		},
		"forbidden without token": {
			setup: func(f *fakeAPI) func(string) string {
				f.set("nomad GET /v1/operator/raft/configuration", answer{Status: 403, Body: json.RawMessage(`"Permission denied"`)})
				f.set("nomad GET /v1/operator/autopilot/health", answer{Status: 403, Body: json.RawMessage(`"Permission denied"`)})
				return f.env()
			},
			wantProblem: ProblemPermission,
			wantStatus:  403,
			hint:        []string{"no token was given", "Set NOMAD_TOKEN"},
		},
		"server echoes the token": {
			setup: func(f *fakeAPI) func(string) string {
				f.set("nomad GET /v1/operator/raft/configuration", answer{Status: 500, Body: json.RawMessage(`"bad token ` + token + `"`)})
				return f.env("NOMAD_TOKEN", token)
			},
			wantProblem: ProblemResponse,
			wantStatus:  500,
			hint:        []string{"answered, but not as expected"},
		},
		"https against http": {
			setup: func(f *fakeAPI) func(string) string {
				return func(k string) string {
					switch k {
					case "NOMAD_ADDR":
						return strings.Replace(f.nomad.URL, "http://", "https://", 1)
					case "NOMAD_TOKEN":
						return token
					}
					return ""
				}
			},
			wantProblem: ProblemTLS,
			hint:        []string{"answers plain HTTP", "http:// address in NOMAD_ADDR"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakeAPI(t, "testdata/api/healthy3.json")
			getenv := tc.setup(f)
			c, err := New(Config{}, WithGetenv(getenv))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Snapshot(context.Background(), SnapshotOptions{Nomad: true})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not a *cluster.Error", err, err)
			}
			if e.Problem != tc.wantProblem || e.Status != tc.wantStatus {
				t.Errorf("problem %q status %d, want %q %d (%s)", e.Problem, e.Status, tc.wantProblem, tc.wantStatus, e)
			}
			if e.System != "nomad" || e.Address != c.Config().NomadAddress || e.From != FromEnv {
				t.Errorf("error names %s at %s from %s", e.System, e.Address, e.From)
			}
			for _, h := range tc.hint {
				if !strings.Contains(e.Hint(), h) {
					t.Errorf("hint %q lacks %q", e.Hint(), h)
				}
			}
			for _, s := range []string{err.Error(), e.Hint(), e.Detail} {
				if strings.Contains(s, token) {
					t.Errorf("token leaked: %s", s)
				}
			}
			if !strings.Contains(e.Error(), c.Config().NomadAddress) || !strings.Contains(e.Error(), "read the Raft configuration") {
				t.Errorf("Error() = %q, want the address and the operation", e.Error())
			}
		})
	}
}

// TestSnapshotRaftFromAutopilot: a token without management is refused
// Nomad's Raft configuration; the servers then come from autopilot health
// (operator:read), with the same IDs, addresses, votes and leader.
func TestSnapshotRaftFromAutopilot(t *testing.T) {
	read := func(deny bool) RaftView {
		f := newFakeAPI(t, "testdata/api/healthy3.json")
		if deny {
			f.set("nomad GET /v1/operator/raft/configuration", answer{Status: 403, Body: json.RawMessage(`"Permission denied"`)})
		}
		c := newTestClient(t, f, &countingTransport{}, "NOMAD_TOKEN", "t")
		v, err := c.Snapshot(context.Background(), SnapshotOptions{Nomad: true})
		if err != nil {
			t.Fatal(err)
		}
		return v.Nomad.Raft
	}
	full, denied := read(false), read(true)
	if len(full.Servers) == 0 || len(denied.Servers) != len(full.Servers) {
		t.Fatalf("servers: %d from Raft, %d from autopilot", len(full.Servers), len(denied.Servers))
	}
	for i, s := range full.Servers {
		d := denied.Servers[i]
		if d.ID != s.ID || d.Name != s.Name || d.Address != s.Address || d.Voter != s.Voter || d.Leader != s.Leader || d.InRaft != s.InRaft || d.Healthy != s.Healthy {
			t.Errorf("server %d from autopilot %+v, from Raft %+v", i, d, s)
		}
	}
	if denied.FailureTolerance() != full.FailureTolerance() {
		t.Errorf("failure tolerance %d from autopilot, %d from Raft", denied.FailureTolerance(), full.FailureTolerance())
	}
}

// TestSnapshotUnnamedPeer: a server that has just restarted can be in the
// answering server's Raft configuration under "(unknown)" before that
// server's gossip lists it again at its address. A gossip member that
// matches it (here by ID) names it; with none, the view reports it
// unnamed, SnapshotSettled reads again until it is named, and refuses it
// once the wait is over.
func TestSnapshotUnnamedPeer(t *testing.T) {
	f := newFakeAPI(t, "testdata/api/healthy3.json")
	const raftKey, membersKey = "nomad GET /v1/operator/raft/configuration", "nomad GET /v1/agent/members"
	var raft map[string]any
	if err := json.Unmarshal(f.routes[raftKey].Body, &raft); err != nil {
		t.Fatal(err)
	}
	s3 := raft["Servers"].([]any)[2].(map[string]any)
	s3["Node"], s3["RaftProtocol"] = UnknownNode, "unknown"
	// Raft lists s3 at an address its member does not gossip (a
	// restarted server's old RPC port): only its ID matches.
	s3["Address"] = "127.0.0.1:4999"
	body, _ := json.Marshal(raft)
	f.set(raftKey, answer{Index: 26, Body: body})
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	opts := SnapshotOptions{Nomad: true}

	v, err := c.Snapshot(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if u := v.Unnamed(); len(u) != 0 {
		t.Fatalf("a peer that its member's ID names is unnamed: %v", u)
	}
	names := map[string]bool{}
	for _, s := range v.Nomad.Raft.Servers {
		names[s.Name] = true
		if s.ID == "6b0c8b1a-2f0e-4a4c-9a57-1f0c5c1a0003" && (s.Name != "s3.global" || s.RaftProtocol != "3" || !s.InRaft) {
			t.Errorf("the unnamed peer, matched by ID: %+v", s)
		}
	}
	if len(v.Nomad.Raft.Servers) != 3 || !names["s3.global"] {
		t.Fatalf("servers %+v", v.Nomad.Raft.Servers)
	}

	// Without s3's member, nothing names it.
	members := f.routes[membersKey]
	var m map[string]any
	if err := json.Unmarshal(members.Body, &m); err != nil {
		t.Fatal(err)
	}
	var kept []any
	for _, mem := range m["Members"].([]any) {
		if mem.(map[string]any)["Name"] != "s3.global" {
			kept = append(kept, mem)
		}
	}
	m["Members"] = kept
	without, _ := json.Marshal(m)
	f.set(membersKey, answer{Body: without})
	v, err = c.Snapshot(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := "nomad server 6b0c8b1a-2f0e-4a4c-9a57-1f0c5c1a0003 at 127.0.0.1:4999"
	if u := v.Unnamed(); len(u) != 1 || u[0] != want {
		t.Fatalf("unnamed %q, want [%q]", u, want)
	}
	if errs := v.Validate(); len(errs) == 0 || !strings.Contains(errors.Join(errs...).Error(), "no gossip member named it") {
		t.Errorf("an inventory with the unnamed peer validates: %v", errs)
	}
	_, err = c.SnapshotSettled(ctx, opts, 200*time.Millisecond, 20*time.Millisecond)
	var ue *UnnamedError
	if !errors.As(err, &ue) || len(ue.Servers) != 1 || f.count(membersKey) < 3 {
		t.Fatalf("SnapshotSettled on a peer that stays unnamed: %v (members read %d times)", err, f.count(membersKey))
	}
	d := Diagnostics(err)
	if len(d) != 1 || d[0].Summary != "A Raft server has no name" || !strings.Contains(d[0].Detail, "remove-peer -peer-id ID") || !strings.Contains(d[0].Detail, want) {
		t.Errorf("diagnostic %v", d)
	}

	// The member comes back while SnapshotSettled reads again: after two
	// more reads without it.
	f.setAfter(membersKey, 2, members)
	v, err = c.SnapshotSettled(ctx, opts, 10*time.Second, 20*time.Millisecond)
	if err != nil || len(v.Unnamed()) != 0 {
		t.Fatalf("SnapshotSettled once the member is back: %v, unnamed %v", err, v.Unnamed())
	}
}

// TestSnapshotSettledTransient: a server error from an agent whose server
// is restarting ("failed to get conn") is asked again until it clears; one
// that lasts is returned after the wait, saying how long nrun asked; any
// other refusal is returned at once.
func TestSnapshotSettledTransient(t *testing.T) {
	f := newFakeAPI(t, "testdata/api/healthy3.json")
	const raftKey = "nomad GET /v1/operator/raft/configuration"
	good := f.routes[raftKey]
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	opts := SnapshotOptions{Nomad: true}

	f.set(raftKey, answer{Status: 500, Body: json.RawMessage(`"rpc error: failed to get conn: dial tcp 127.0.0.1:16208: connect: connection refused"`)})
	_, err := c.SnapshotSettled(ctx, opts, 200*time.Millisecond, 20*time.Millisecond)
	var e *Error
	if !errors.As(err, &e) || !e.Transient() || !strings.Contains(e.Detail, "failed to get conn") || !strings.Contains(e.Detail, "(nrun asked again for") || f.count(raftKey) < 3 {
		t.Fatalf("a lasting server error: %v (read %d times)", err, f.count(raftKey))
	}

	// The server answers again after two more failed reads.
	before := f.count(raftKey)
	f.setAfter(raftKey, 2, good)
	v, err := c.SnapshotSettled(ctx, opts, 10*time.Second, 20*time.Millisecond)
	if err != nil || v.Nomad == nil || len(v.Nomad.Raft.Servers) != 3 {
		t.Fatalf("once the server answers again: %v", err)
	}
	if f.count(raftKey)-before < 3 {
		t.Errorf("the server error was not asked again until it cleared (%d reads)", f.count(raftKey)-before)
	}

	f.set(raftKey, answer{Status: 404, Body: json.RawMessage(`"Not found"`)})
	before = f.count(raftKey)
	if _, err := c.SnapshotSettled(ctx, opts, 10*time.Second, 20*time.Millisecond); !errors.As(err, &e) || e.Transient() || f.count(raftKey)-before != 1 {
		t.Fatalf("a 404 is returned at once: %v (%d reads)", err, f.count(raftKey)-before)
	}
}
