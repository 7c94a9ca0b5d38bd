package cluster_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

func consulAgents(sb *sandbox.Cluster) []sandbox.Agent {
	var out []sandbox.Agent
	for _, a := range sb.Agents() {
		if a.Kind == sandbox.ConsulServer {
			out = append(out, a)
		}
	}
	return out
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	last := ""
	for time.Now().Before(deadline) {
		ok, s := cond()
		if ok {
			return
		}
		last = s
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s; last: %s", d, what, last)
}

func TestLiveConsulSnapshotAndMaintenance(t *testing.T) {
	sandboxtest.Timer(t)
	sb, c := opsSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	path := filepath.Join(t.TempDir(), "backups", "consul.snap")
	snap, err := c.SnapshotSave(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	files, digest, err := cluster.VerifyConsulSnapshot(path)
	if err != nil || digest != snap.SHA256 || snap.Index == 0 || snap.Size < 100 {
		t.Fatalf("snapshot %+v; verify: %v %s %v", snap, files, digest, err)
	}
	if strings.Join(files, ",") != strings.Join(snap.Files, ",") || !strings.Contains(strings.Join(files, ","), "state.bin") {
		t.Errorf("archive entries %v", files)
	}
	t.Logf("snapshot: %d bytes at index %d, %v, %s", snap.Size, snap.Index, snap.Files, snap.SHA256)
	// A corrupt file fails verification.
	b, _ := os.ReadFile(path)
	b[len(b)/2] ^= 0xff
	bad := filepath.Join(t.TempDir(), "bad.snap")
	os.WriteFile(bad, b, 0o600)
	if _, _, err := cluster.VerifyConsulSnapshot(bad); err == nil {
		t.Error("a snapshot with a flipped byte verified")
	}

	// Maintenance on consul2 through its own agent.
	agents := consulAgents(sb)
	target := agents[1]
	t.Cleanup(func() { c.SetMaintenance(context.Background(), target.Name, target.HTTPAddr(), false, "") })
	// The guessed address (the configured agent's port, consul1's) lands on
	// another agent: refused, and nothing changed.
	if _, err := c.SetMaintenance(ctx, target.Name, "", true, "guess"); err == nil || !strings.Contains(err.Error(), "is node "+agents[0].Name+", not "+target.Name) {
		t.Fatalf("maintenance through a guessed address that is another agent: %v", err)
	}
	m, err := c.SetMaintenance(ctx, target.Name, target.HTTPAddr(), true, "nrun test")
	if err != nil || m.Already {
		t.Fatalf("enable: %+v, %v", m, err)
	}
	t0 := time.Now()
	waitFor(t, 20*time.Second, "maintenance in the catalog", func() (bool, string) {
		n, _, err := c.WaitConsulNode(ctx, target.Name, 0)
		return err == nil && n.Maintenance && n.MaintenanceReason == "nrun test", fmt.Sprintf("%+v, %v", n, err)
	})
	t.Logf("maintenance on in Health().Node %s after the call", time.Since(t0).Round(10*time.Millisecond))
	if m, err := c.SetMaintenance(ctx, target.Name, target.HTTPAddr(), true, "nrun test"); err != nil || !m.Already {
		t.Fatalf("enable again (probe): %+v, %v", m, err)
	}
	if m, err := c.SetMaintenance(ctx, target.Name, "http://"+target.HTTPAddr(), false, ""); err != nil || m.Already {
		t.Fatalf("disable: %+v, %v", m, err)
	}
	waitFor(t, 20*time.Second, "maintenance gone from the catalog", func() (bool, string) {
		n, _, err := c.WaitConsulNode(ctx, target.Name, 0)
		return err == nil && !n.Maintenance, fmt.Sprintf("%+v, %v", n, err)
	})
	if m, err := c.SetMaintenance(ctx, target.Name, target.HTTPAddr(), false, ""); err != nil || !m.Already {
		t.Fatalf("disable again (probe): %+v, %v", m, err)
	}
	// The guess is right for the agent nrun is configured with.
	first := agents[0]
	if addr, err := c.AgentAddress(ctx, first.Name); err != nil || addr != "http://"+first.HTTPAddr() {
		t.Errorf("AgentAddress(%s) = %s, %v", first.Name, addr, err)
	}
	if _, err := c.SetMaintenance(ctx, "no-such-node", "", true, ""); err == nil {
		t.Error("maintenance of an unknown node: no error")
	}
}

// TestLiveConsulRemoveServer adds a fourth Consul server of its own to the
// shared cluster, stops it, removes its Raft peer and forces it out of the
// gossip pool, and checks the three remaining servers keep their quorum.
// The shared cluster ends as it began.
func TestLiveConsulRemoveServer(t *testing.T) {
	sandboxtest.Timer(t)
	sb, c := opsSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	agents := consulAgents(sb)
	api, err := consul.NewClient(&consul.Config{Address: agents[0].HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	// Autopilot would otherwise remove the failed server by itself (and
	// make the extra server wait 10s before it votes).
	ap, err := api.Operator().AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	orig := *ap
	ap.CleanupDeadServers = false
	ap.ServerStabilizationTime = consul.NewReadableDuration(time.Second)
	if err := api.Operator().AutopilotSetConfiguration(ap, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Operator().AutopilotSetConfiguration(&orig, nil) })

	name := "consul-extra"
	dir := t.TempDir()
	ports := freeLoopbackPorts(t, 4)
	args := []string{"agent", "-server", "-node=" + name, "-datacenter=dc1", "-data-dir=" + filepath.Join(dir, "data"),
		"-bind=127.0.0.1", "-client=127.0.0.1", "-advertise=127.0.0.1",
		"-http-port=" + strconv.Itoa(ports[0]), "-server-port=" + strconv.Itoa(ports[1]),
		"-serf-lan-port=" + strconv.Itoa(ports[2]), "-serf-wan-port=" + strconv.Itoa(ports[3]),
		"-dns-port=-1", "-grpc-port=-1", "-grpc-tls-port=-1", "-disable-host-node-id", "-retry-interval=1s",
		"-hcl", "performance { raft_multiplier = 1 }", "-retry-join=127.0.0.1:" + strconv.Itoa(agents[0].Ports.Serf)}
	logf, err := os.Create(filepath.Join(dir, "agent.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(agents[0].Binary, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	stop := func() {
		syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			syscall.Kill(-pid, syscall.SIGKILL)
			<-exited
		}
	}
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			stop()
		}
		// Whatever happened, leave no trace of the extra server.
		c.RaftRemovePeer(context.Background(), name)
		c.ForceLeave(context.Background(), name, true)
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "agent.log"))
			t.Logf("extra server log:\n%s", tailLines(string(b), 30))
		}
	})
	peerAddr := "127.0.0.1:" + strconv.Itoa(ports[1])
	t0 := time.Now()
	waitFor(t, 60*time.Second, name+" a Raft voter", func() (bool, string) {
		cfg, err := api.Operator().RaftGetConfiguration(nil)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range cfg.Servers {
			if s.Node == name && s.Voter {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d peers", len(cfg.Servers))
	})
	t.Logf("%s joined as a voter in %s", name, time.Since(t0).Round(100*time.Millisecond))

	// Probes before anything happened.
	if _, err := c.ForceLeave(ctx, name, true); err == nil || !strings.Contains(err.Error(), "is alive") {
		t.Fatalf("force-leave of an alive server: %v", err)
	}

	stop()
	t0 = time.Now()
	waitFor(t, 30*time.Second, name+" failed in gossip", func() (bool, string) {
		ms, err := api.Agent().Members(false)
		if err != nil {
			return false, err.Error()
		}
		for _, m := range ms {
			if m.Name == name {
				return m.Status == 4, fmt.Sprintf("status %d", m.Status)
			}
		}
		return false, "not a member"
	})
	t.Logf("%s marked failed %s after stop", name, time.Since(t0).Round(100*time.Millisecond))

	rm, err := c.RaftRemovePeer(ctx, name)
	if err != nil || rm.Already || rm.Address != peerAddr {
		t.Fatalf("remove peer: %+v, %v", rm, err)
	}
	if present, err := c.RaftPeerPresent(ctx, peerAddr); err != nil || present {
		t.Fatalf("after remove-peer, present = %v, %v", present, err)
	}
	if rm, err := c.RaftRemovePeer(ctx, peerAddr); err != nil || !rm.Already {
		t.Fatalf("remove peer again (probe): %+v, %v", rm, err)
	}

	fl, err := c.ForceLeave(ctx, name, true)
	if err != nil || fl.Already || fl.StatusBefore != "failed" {
		t.Fatalf("force-leave: %+v, %v", fl, err)
	}
	waitFor(t, 30*time.Second, name+" pruned from the members", func() (bool, string) {
		ms, err := api.Agent().Members(false)
		if err != nil {
			return false, err.Error()
		}
		for _, m := range ms {
			if m.Name == name {
				return false, fmt.Sprintf("status %d", m.Status)
			}
		}
		return true, ""
	})
	if fl, err := c.ForceLeave(ctx, name, true); err != nil || !fl.Already {
		t.Fatalf("force-leave again (probe): %+v, %v", fl, err)
	}

	// Quorum kept: three healthy voters and a leader.
	waitFor(t, 30*time.Second, "three healthy Consul voters", func() (bool, string) {
		v, err := c.Snapshot(ctx, cluster.SnapshotOptions{Consul: true})
		if err != nil {
			return false, err.Error()
		}
		r := v.Consul.Raft
		return r.Voters() == 3 && r.HealthyVoters() == 3 && r.LeaderAddress != "" && r.Autopilot.Healthy,
			fmt.Sprintf("voters %d healthy %d leader %q autopilot %+v", r.Voters(), r.HealthyVoters(), r.LeaderAddress, r.Autopilot)
	})

	// The leader itself is refused.
	leader, err := api.Status().Leader()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RaftRemovePeer(ctx, leader); err == nil || !strings.Contains(err.Error(), "is the Raft leader") {
		t.Fatalf("remove the leader: %v", err)
	}
}

func freeLoopbackPorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	var ls []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
