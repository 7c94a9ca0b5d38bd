package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// consulSpec is one Nomad server with its own Consul agent, one client
// without (it talks to a Consul server directly), and three Consul servers
// on the old Consul version.
func consulSpec(secure bool) sandbox.Spec {
	s := sandbox.Spec{
		Servers:                 []sandbox.ServerSpec{{Name: "s1", ConsulAgent: true}},
		Clients:                 []sandbox.ClientSpec{{Name: "c1"}},
		ConsulServers:           3,
		ConsulVersion:           sandbox.OldConsulVersion,
		ServerStabilizationTime: 2 * time.Second,
		Secure:                  secure,
	}
	return s
}

// requireBothConsuls makes sure the new Consul version is there too: the
// spec names only the one the servers start on.
func requireBothConsuls(t *testing.T) {
	sandboxtest.Require(t, sandbox.Spec{ConsulServers: 1, ConsulVersion: sandbox.DefaultConsulVersion})
}

func consulByName(st *sandbox.Status) map[string]sandbox.ConsulStatus {
	out := map[string]sandbox.ConsulStatus{}
	for _, c := range st.Consul {
		out[c.Name] = c
	}
	return out
}

// consulFollower is a Consul server that does not lead.
func consulFollower(t *testing.T, c *sandbox.Cluster) string {
	t.Helper()
	leader, err := c.ConsulLeader()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Status().Consul {
		if s.Name != leader {
			return s.Name
		}
	}
	t.Fatalf("no Consul follower besides %s", leader)
	return ""
}

// wantVersions fails t unless the running Consul servers are exactly want
// (name -> version) as the cluster's members report them.
func wantVersions(t *testing.T, c *sandbox.Cluster, want map[string]string) {
	t.Helper()
	got, err := c.ConsulServerVersions()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Consul server versions %v, want %v", got, want)
	}
}

// newConsulSandbox starts the sandbox of a Consul server lifecycle test,
// with TLS and ACLs when secure, once both Consul versions are at hand.
func newConsulSandbox(t *testing.T, secure bool) (*sandbox.Cluster, context.Context) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sandboxtest.Timer(t)
	requireBothConsuls(t)
	return sandboxtest.New(t, consulSpec(secure)), ctxFor(t, 10*time.Minute)
}

// TestConsulServerLifecycle stops, upgrades, kills, adds and removes
// Consul servers, and checks after each change what the Raft peers are
// and that the Nomad server's own Consul agent still has a leader.
func TestConsulServerLifecycle(t *testing.T) {
	c, ctx := newConsulSandbox(t, false)
	old, neu := sandbox.OldConsulVersion, sandbox.DefaultConsulVersion
	wantVersions(t, c, map[string]string{"consul1": old, "consul2": old, "consul3": old})

	// Stop a follower: it stays a Raft peer, not running.
	f := consulFollower(t, c)
	t0 := time.Now()
	if err := c.StopConsulServer(ctx, f); err != nil {
		t.Fatal(err)
	}
	st := consulByName(c.Status())
	if s := st[f]; s.Running || !s.Voter {
		t.Fatalf("after stop, %s: %+v (want stopped, still a voter)", f, s)
	}
	ownConsulHasLeader(t, c, "s1")
	// Start it on the new version: the upgrade step.
	if err := c.StartConsulServer(ctx, f, neu); err != nil {
		t.Fatal(err)
	}
	t.Logf("stop+start on %s of follower %s: %s", neu, f, time.Since(t0).Round(time.Millisecond))
	want := map[string]string{"consul1": old, "consul2": old, "consul3": old}
	want[f] = neu
	wantVersions(t, c, want)
	if s := consulByName(c.Status())[f]; !s.Running || !s.Voter || s.Version != neu {
		t.Fatalf("after start, %s: %+v", f, s)
	}
	if err := c.StartConsulServer(ctx, f, ""); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("starting a running Consul server: %v, want 'already running'", err)
	}

	// Kill the leader: another leads; it comes back as a voter.
	leader, err := c.ConsulLeader()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.KillConsulServer(ctx, leader); err != nil {
		t.Fatal(err)
	}
	poll(t, c, time.Minute, "a new Consul leader", func() (bool, string) {
		l, err := c.ConsulLeader()
		if err != nil {
			return false, err.Error()
		}
		return l != leader, "leader " + l
	})
	if err := c.StartConsulServer(ctx, leader, ""); err != nil {
		t.Fatal(err)
	}
	wantVersions(t, c, want)

	// Add a server on the new version, then remove an old one gracefully.
	if err := c.AddConsulServer(ctx, "consul4", neu); err != nil {
		t.Fatal(err)
	}
	if err := c.AddConsulServer(ctx, "consul4", neu); err == nil {
		t.Fatal("adding consul4 twice succeeded")
	}
	st = consulByName(c.Status())
	if len(st) != 4 || !st["consul4"].Voter {
		t.Fatalf("after add: %+v", st)
	}
	var gone string
	for _, n := range []string{"consul1", "consul2", "consul3"} {
		if want[n] == old {
			gone = n
			break
		}
	}
	var dir string
	for _, a := range c.Agents() {
		if a.Name == gone && a.Kind == sandbox.ConsulServer {
			dir = a.Dir
		}
	}
	if err := c.RemoveConsulServer(ctx, gone); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s's directory %s is still there (%v)", gone, dir, err)
	}
	st = consulByName(c.Status())
	if _, ok := st[gone]; ok || len(st) != 3 {
		t.Fatalf("after remove of %s: %+v", gone, st)
	}
	for n, s := range st {
		if !s.Voter || !s.Running {
			t.Errorf("after remove, %s: %+v", n, s)
		}
	}
	delete(want, gone)
	want["consul4"] = neu
	wantVersions(t, c, want)
	// The leave was graceful: the others list it as left, not failed.
	if got := memberStatus(t, c, gone); got != 3 {
		t.Errorf("member %s has serf status %d after its removal, want 3 (left)", gone, got)
	}
	ownConsulHasLeader(t, c, "s1")
	if len(c.Status().Problems) > 0 {
		t.Errorf("problems: %q", c.Status().Problems)
	}
}

// TestConsulServerLifecycleSecure upgrades a follower and adds and removes
// a Consul server in a sandbox with TLS and ACLs.
func TestConsulServerLifecycleSecure(t *testing.T) {
	c, ctx := newConsulSandbox(t, true)
	old, neu := sandbox.OldConsulVersion, sandbox.DefaultConsulVersion
	f := consulFollower(t, c)
	if err := c.StopConsulServer(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := c.StartConsulServer(ctx, f, neu); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"consul1": old, "consul2": old, "consul3": old}
	want[f] = neu
	wantVersions(t, c, want)
	if err := c.AddConsulServer(ctx, "consul4", neu); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveConsulServer(ctx, "consul4"); err != nil {
		t.Fatal(err)
	}
	wantVersions(t, c, want)
	if got := memberStatus(t, c, "consul4"); got != 3 {
		t.Errorf("member consul4 has serf status %d after its removal, want 3 (left)", got)
	}
	ownConsulHasLeader(t, c, "s1")
}

// ownConsulHasLeader checks that the Nomad agent name's own Consul agent
// answers with a Consul leader: its Nomad agent has a working Consul.
func ownConsulHasLeader(t *testing.T, c *sandbox.Cluster, name string) {
	t.Helper()
	addr := c.ConsulAgents()[name]
	if addr == "" {
		t.Fatalf("%s has no Consul agent", name)
	}
	cl := consulAPI(t, c, addr)
	poll(t, c, 30*time.Second, name+"'s Consul agent to know a leader", func() (bool, string) {
		leader, err := cl.Status().Leader()
		if err != nil {
			return false, err.Error()
		}
		return leader != "", "leader " + leader
	})
}

// memberStatus is the serf status of member name as a running Consul
// server sees it (1 alive, 3 left, 4 failed; 0 unknown).
func memberStatus(t *testing.T, c *sandbox.Cluster, name string) int {
	t.Helper()
	var addr string
	for _, s := range c.Status().Consul {
		if s.Running {
			addr = s.HTTP
			break
		}
	}
	ms, err := consulAPI(t, c, addr).Agent().Members(false)
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, m := range ms {
		seen = append(seen, fmt.Sprintf("%s=%d", m.Name, m.Status))
		if m.Name == name {
			return m.Status
		}
	}
	sort.Strings(seen)
	t.Logf("members: %s", strings.Join(seen, " "))
	return 0
}

// consulAPI is a Consul API client for the agent at addr with the
// sandbox's environment (https, CLI certificate and management token in a
// secure sandbox).
func consulAPI(t *testing.T, c *sandbox.Cluster, addr string) *consul.Client {
	t.Helper()
	env := map[string]string{}
	for _, kv := range c.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cfg := &consul.Config{Address: addr, Scheme: "http", Token: env["CONSUL_HTTP_TOKEN"]}
	if c.Secure() {
		cfg.Scheme = "https"
		cfg.TLSConfig = consul.TLSConfig{CAFile: env["CONSUL_CACERT"], CertFile: env["CONSUL_CLIENT_CERT"], KeyFile: env["CONSUL_CLIENT_KEY"]}
	}
	cl, err := consul.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}
