package e2e

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
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
	if err := e.sb.RunDemoJob(ctx); err != nil {
		t.Fatal(err)
	}
	// A client agent forwards to whichever Consul server is up.
	e.vars["CONSUL_HTTP_ADDR"] = "http://" + e.sb.ConsulAgents()["c1"]
	cc, err := consul.NewClient(&consul.Config{Address: e.vars["CONSUL_HTTP_ADDR"]})
	if err != nil {
		t.Fatal(err)
	}
	servers := []string{"consul1", "consul2", "consul3"}
	old := map[string]string{}
	for _, s := range servers {
		old[s] = sandbox.OldConsulVersion
	}
	if got, err := e.sb.ConsulServerVersions(); err != nil || fmt.Sprint(got) != fmt.Sprint(old) {
		t.Fatalf("Consul servers before the upgrade: %v (%v), want %v", got, err, old)
	}
	// Autopilot must call every server healthy before the plan: right
	// after the start it still counts them unstable.
	stable := consulStabilization(t, cc)
	for _, s := range servers {
		waitConsulStable(t, cc, s, sandbox.OldConsulVersion, stable)
	}

	rb := copyRunbook(t, e.dir, "consul-server-rolling-upgrade.nrun.hcl", "consul-sandbox.nrunvars.hcl")
	varFile := strings.TrimSuffix(rb, "consul-server-rolling-upgrade.nrun.hcl") + "consul-sandbox.nrunvars.hcl"
	w := watchConsulQuorum(t, e, cc)
	r := e.nrun("apply", "-auto-approve", "-var-file", varFile, rb)
	w.stop()
	if r.code != 0 {
		t.Fatalf("%s\n%s", r, e.sb.LogTails(20))
	}
	t.Logf("nrun apply of the Consul rolling upgrade: wall time %s", r.took.Round(time.Millisecond))
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, ": finished (") || strings.Contains(line, "held") || strings.Contains(line, "transferring") {
			t.Log(line)
		}
	}
	if !strings.Contains(r.stdout+r.stderr, "finished. 11 finished, 0 failed, 0 skipped.") {
		t.Errorf("want 11 step instances finished:\n%s", r)
	}

	// The order, from the apply's own lines: the snapshot first, each
	// server stopped only after the previous one is healthy again, and
	// leadership moved off the last one before it stops.
	stopRE := regexp.MustCompile(`step\.upgrade\["(consul\d)"\]\.step\.stop: starting`)
	healthyRE := regexp.MustCompile(`step\.upgrade\["(consul\d)"\]\.step\.start: wait server_healthy held`)
	transferRE := regexp.MustCompile(`transferring Consul leadership from (consul\d)`)
	var events []string
	for _, line := range strings.Split(r.stdout, "\n") {
		switch {
		case strings.Contains(line, "step.snapshot: finished"):
			events = append(events, "snapshot")
		case stopRE.MatchString(line):
			events = append(events, "stop "+stopRE.FindStringSubmatch(line)[1])
		case healthyRE.MatchString(line):
			events = append(events, "healthy "+healthyRE.FindStringSubmatch(line)[1])
		case transferRE.MatchString(line):
			events = append(events, "transfer "+transferRE.FindStringSubmatch(line)[1])
		}
	}
	t.Logf("order: %q", events)
	if len(events) < 7 || events[0] != "snapshot" {
		t.Fatalf("want the snapshot first, then stop/healthy for each server: %q", events)
	}
	stopped := map[string]bool{}
	var last, transferred string
	for i, ev := range events[1:] {
		kind, name, _ := strings.Cut(ev, " ")
		switch kind {
		case "stop":
			if stopped[name] {
				t.Errorf("%s stopped twice: %q", name, events)
			}
			stopped[name] = true
			if i > 0 && !strings.HasPrefix(events[i], "healthy") && !strings.HasPrefix(events[i], "transfer") {
				t.Errorf("%s stopped before the previous server was healthy again: %q", name, events)
			}
			last = name
		case "transfer":
			transferred = name
			if len(stopped) != 2 {
				t.Errorf("Consul leadership was moved off %s with %d servers upgraded, want 2 (the leader goes last): %q", name, len(stopped), events)
			}
		}
	}
	if len(stopped) != 3 {
		t.Fatalf("want 3 Consul servers stopped once each: %q", events)
	}
	if transferred != last {
		t.Errorf("Consul leadership was moved off %q, but the last server upgraded was %s: the leader must go last: %q", transferred, last, events)
	}

	// The quorum watcher: it followed the run, and no sample had fewer
	// voters up than a majority.
	t.Logf("Consul quorum watch: %s", w)
	if w.samples < 20 {
		t.Errorf("the quorum watcher read the cluster only %d times during the run", w.samples)
	}
	if w.minMargin < 0 {
		t.Errorf("Consul quorum was lost during the run: %s", w)
	}
	// A restart keeps a server down for well under a second, which a
	// sample may miss; its new PID it cannot miss. Each server restarted
	// once, and never two between the same two samples.
	if w.restarts != 3 || w.together > 0 || w.gap > 5*time.Second {
		t.Errorf("the quorum watcher did not follow the run closely enough to prove anything: %s", w)
	}

	// The end state.
	want := map[string]string{}
	for _, s := range servers {
		want[s] = sandbox.DefaultConsulVersion
	}
	if got, err := e.sb.ConsulServerVersions(); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Consul servers after the upgrade: %v (%v), want %v", got, err, want)
	}
	eventually(t, "Consul autopilot healthy with failure tolerance 1", time.Minute, func() (bool, string) {
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
	if leader, err := e.sb.ConsulLeader(); err != nil {
		t.Errorf("Consul leader after the upgrade: %v", err)
	} else {
		t.Logf("Consul leader after the upgrade: %s", leader)
	}
	e.waitRunning(sandbox.DemoJob, 2, time.Minute)
	// The Nomad agents kept a working Consul: their own services are
	// registered and passing.
	eventually(t, "the Nomad agents' services passing in Consul", time.Minute, func() (bool, string) {
		var seen []string
		ok := true
		for svc, n := range map[string]int{"nomad": 3, "nomad-client": 2} {
			entries, _, err := cc.Health().Service(svc, "", true, nil)
			if err != nil {
				return false, err.Error()
			}
			nodes := map[string]bool{}
			for _, en := range entries {
				nodes[en.Node.Node] = true
			}
			seen = append(seen, fmt.Sprintf("%s passing on %d nodes", svc, len(nodes)))
			ok = ok && len(nodes) == n
		}
		sort.Strings(seen)
		return ok, strings.Join(seen, ", ")
	})
	for _, s := range e.sb.Status().Consul {
		if !s.Running || !s.Voter || s.Version != sandbox.DefaultConsulVersion {
			t.Errorf("Consul server %s after the upgrade: %+v", s.Name, s)
		}
	}

	// The floor: the same three restarts done directly through the
	// sandbox, followers first and the leader last (without a transfer),
	// each followed by autopilot calling the server a healthy voter for
	// server_stabilization_time, read every 50ms. No snapshot, no quorum
	// check, no verification.
	leader, err := e.sb.ConsulLeader()
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
		if err := e.sb.StopConsulServer(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := e.sb.StartConsulServer(ctx, s, sandbox.DefaultConsulVersion); err != nil {
			t.Fatal(err)
		}
		waitConsulStable(t, cc, s, sandbox.DefaultConsulVersion, stable)
	}
	floor := time.Since(start)
	t.Logf("Consul rolling upgrade: nrun apply %s, floor %s (3 restarts + autopilot's %s stabilization each), overhead %s",
		r.took.Round(time.Millisecond), floor.Round(time.Millisecond), stable, (r.took - floor).Round(time.Millisecond))
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

// consulQuorumWatch records, from a goroutine, the smallest margin of
// Consul voters up over quorum while a run goes on.
type consulQuorumWatch struct {
	mu      sync.Mutex
	samples int
	// degraded counts samples with a voter down.
	degraded int
	errors   int
	// restarts counts the Consul servers seen with a new PID (or with
	// none, then one) since the sample before; together counts samples
	// where more than one server had restarted since the one before or
	// is down now: two servers out at once, even when the samples fall
	// outside their down windows.
	restarts int
	together int
	// leaderless counts samples in which Consul named no leader.
	leaderless int
	last       time.Time
	gap        time.Duration
	minMargin  int
	worst      string
	done       chan struct{}
	finished   chan struct{}
}

func (w *consulQuorumWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprintf("%d samples, at most %s apart (%d with a voter down, %d without a leader, %d unanswered), %d restarts seen (%d of them two at once), smallest margin of voters up over quorum %d (%s)",
		w.samples, w.gap.Round(time.Millisecond), w.degraded, w.leaderless, w.errors, w.restarts, w.together, w.minMargin, w.worst)
}

func (w *consulQuorumWatch) stop() {
	close(w.done)
	<-w.finished
}

// watchConsulQuorum samples, every 100ms through the Consul client agent
// cc talks to, Consul's Raft peers (/v1/status/peers) and leader, and from
// the sandbox which Consul servers run (a stopped server's PID is cleared
// once it has exited). A voter is up when its process runs; quorum is a
// majority of the voters. Which peers vote comes from the Raft
// configuration, read apart every 500ms; a peer not yet seen there counts
// as a voter for the quorum but not as up, so the margin is never
// overstated. A sample not answered within 2s is counted apart.
func watchConsulQuorum(t *testing.T, e *env, cc *consul.Client) *consulQuorumWatch {
	w := &consulQuorumWatch{minMargin: 1 << 30, done: make(chan struct{}), finished: make(chan struct{})}
	fast, err := consul.NewClient(&consul.Config{Address: e.vars["CONSUL_HTTP_ADDR"], HttpClient: &http.Client{Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	var vmu sync.Mutex
	voter := map[string]bool{} // by Raft address
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if rc, err := cc.Operator().RaftGetConfiguration(&consul.QueryOptions{AllowStale: true}); err == nil {
				vmu.Lock()
				for _, s := range rc.Servers {
					voter[s.Address] = s.Voter
				}
				vmu.Unlock()
			}
			select {
			case <-w.done:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	pids := map[string]int{}
	for _, a := range e.sb.Agents() {
		if a.Kind == sandbox.ConsulServer {
			pids[a.Name] = a.PID
		}
	}
	go func() {
		defer close(w.finished)
		defer wg.Wait()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
			peers, err := fast.Status().Peers()
			leader, lerr := fast.Status().Leader()
			running, names := map[string]bool{}, map[string]string{}
			restarted, out := 0, 0
			for _, a := range e.sb.Agents() {
				if a.Kind != sandbox.ConsulServer {
					continue
				}
				running[a.RPCAddr()], names[a.RPCAddr()] = a.PID != 0, a.Name
				switch {
				case a.PID == 0:
					out++
				case a.PID != pids[a.Name]:
					restarted++
					out++
				}
				if a.PID != 0 {
					pids[a.Name] = a.PID
				}
			}
			w.mu.Lock()
			w.restarts += restarted
			if out > 1 {
				w.together++
			}
			if err != nil {
				w.errors++
				w.mu.Unlock()
				continue
			}
			w.samples++
			if lerr == nil && leader == "" {
				w.leaderless++
			}
			if now := time.Now(); !w.last.IsZero() && now.Sub(w.last) > w.gap {
				w.gap = now.Sub(w.last)
			}
			w.last = time.Now()
			voters, up := 0, 0
			var seen []string
			vmu.Lock()
			for _, addr := range peers {
				v, known := voter[addr]
				if known && !v {
					continue
				}
				voters++
				ok := known && running[addr]
				if ok {
					up++
				}
				name := names[addr]
				if name == "" {
					name = addr
				}
				seen = append(seen, fmt.Sprintf("%s up=%v", name, ok))
			}
			vmu.Unlock()
			if up < voters {
				w.degraded++
			}
			margin := up - (voters/2 + 1)
			if margin < w.minMargin || (margin == w.minMargin && up < voters && !strings.Contains(w.worst, "up=false")) {
				w.minMargin = margin
				w.worst = fmt.Sprintf("%d voters, %d up: %s", voters, up, strings.Join(seen, ", "))
			}
			w.mu.Unlock()
		}
	}()
	return w
}
