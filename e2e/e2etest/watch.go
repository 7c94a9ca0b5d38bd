package e2etest

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
	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/sandbox"
)

// QuorumWatch records, from a goroutine, the smallest margin of voters up
// over quorum in one cluster (Nomad's or Consul's servers) while a run goes
// on.
type QuorumWatch struct {
	mu      sync.Mutex
	Samples int
	// degraded counts samples with a voter down: the watcher saw the
	// servers that were stopped.
	Degraded int
	Errors   int
	// restarts counts the servers seen with a new PID (or with none, then
	// one) since the Sample before; together counts samples where more
	// than one server had restarted since the one before or is down now:
	// two servers out at once, even when the samples fall outside their
	// down windows.
	Restarts int
	Together int
	// leaderless counts samples in which the cluster named no leader.
	Leaderless int
	// withLeader and withRestarts: whether the source reads the leader,
	// and counts restarts (a server added later counts as one, so they
	// mean something only where servers restart in place).
	withLeader, withRestarts bool
	// last and gap: when the last Sample was taken, and the longest time
	// between two, the watcher's resolution.
	last      time.Time
	Gap       time.Duration
	MinMargin int
	Worst     string
	done      chan struct{}
	finished  chan struct{}
}

func (w *QuorumWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	leaderless, restarts := "", ""
	if w.withLeader {
		leaderless = fmt.Sprintf(", %d without a leader", w.Leaderless)
	}
	if w.withRestarts {
		restarts = fmt.Sprintf(", %d restarts seen (%d of them two at once)", w.Restarts, w.Together)
	}
	return fmt.Sprintf("%d samples, at most %s apart (%d with a voter down%s, %d unanswered)%s, smallest margin of voters up over quorum %d (%s)",
		w.Samples, w.Gap.Round(time.Millisecond), w.Degraded, leaderless, w.Errors, restarts, w.MinMargin, w.Worst)
}

func (w *QuorumWatch) Stop() {
	close(w.done)
	<-w.finished
}

// quorumSource is how a QuorumWatch reads one cluster.
type quorumSource struct {
	// kind is the sandbox's kind of the cluster's servers.
	kind sandbox.Kind
	// every is the time between two samples.
	every time.Duration
	// peers reads the Raft peers' addresses (/v1/status/peers), quickly
	// or not at all: an unanswered Sample is counted apart.
	peers func() ([]string, error)
	// leader, when not nil, reads the leader's address.
	leader func() (string, error)
	// voters reads which peers vote, by Raft address. It is read apart
	// every 500ms, and may take long.
	voters func() (map[string]bool, error)
	// up tells whether server a counts as up in a Sample.
	up func(a sandbox.Agent) bool
	// restarts: the watch's String reports the restarts it counted.
	restarts bool
}

// processRuns counts a server up while its process runs: the sandbox
// clears the PID once a stopped server has exited.
func processRuns(a sandbox.Agent) bool { return a.PID != 0 }

// watchQuorum samples, every src.every, the Raft peers and, from the
// sandbox, which servers are up (src.up). Quorum is a majority of the
// voters.
//
// Whether a peer votes comes from the Raft configuration, read apart every
// 500ms, because that endpoint may block (Nomad's names peers through serf
// and waits while a force-leave waits for its broadcast: seconds, exactly
// when it matters); a peer not yet seen there counts as a voter for the
// quorum but not as up, so the margin is never overstated. Autopilot's
// health is not the measure either: a leader elected a moment ago reports
// every server unhealthy until it has heard from them, which is no loss of
// quorum.
func watchQuorum(e *Env, src quorumSource) *QuorumWatch {
	w := &QuorumWatch{MinMargin: 1 << 30, withLeader: src.leader != nil, withRestarts: src.restarts, done: make(chan struct{}), finished: make(chan struct{})}
	var vmu sync.Mutex
	voter := map[string]bool{} // by Raft address
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if vs, err := src.voters(); err == nil {
				vmu.Lock()
				for addr, v := range vs {
					voter[addr] = v
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
	for _, a := range e.SB.Agents() {
		if a.Kind == src.kind {
			pids[a.Name] = a.PID
		}
	}
	go func() {
		defer close(w.finished)
		defer wg.Wait()
		tick := time.NewTicker(src.every)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
			peers, err := src.peers()
			var leader string
			var lerr error
			if src.leader != nil {
				leader, lerr = src.leader()
			}
			up, names := map[string]bool{}, map[string]string{}
			restarted, out := 0, 0
			for _, a := range e.SB.Agents() {
				if a.Kind != src.kind {
					continue
				}
				up[a.RPCAddr()], names[a.RPCAddr()] = src.up(a), a.Name
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
			w.Restarts += restarted
			if out > 1 {
				w.Together++
			}
			if err != nil {
				w.Errors++
				w.mu.Unlock()
				continue
			}
			w.Samples++
			if src.leader != nil && lerr == nil && leader == "" {
				w.Leaderless++
			}
			if now := time.Now(); !w.last.IsZero() && now.Sub(w.last) > w.Gap {
				w.Gap = now.Sub(w.last)
			}
			w.last = time.Now()
			voters, n := 0, 0
			var seen []string
			vmu.Lock()
			for _, addr := range peers {
				v, known := voter[addr]
				if known && !v {
					continue
				}
				voters++
				ok := known && up[addr]
				if ok {
					n++
				}
				seen = append(seen, fmt.Sprintf("%s up=%v", firstNonEmpty(names[addr], addr), ok))
			}
			vmu.Unlock()
			if n < voters {
				w.Degraded++
			}
			if margin := n - (voters/2 + 1); margin < w.MinMargin || margin == w.MinMargin && n < voters && !strings.Contains(w.Worst, "up=false") {
				w.MinMargin = margin
				w.Worst = fmt.Sprintf("%d voters, %d up: %s", voters, n, strings.Join(seen, ", "))
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// NomadAt is a Nomad API client of addr that gives up after timeout.
func NomadAt(t *testing.T, addr string, timeout time.Duration) *nomad.Client {
	c, err := nomad.NewClient(&nomad.Config{Address: addr, Region: "global", HttpClient: &http.Client{Timeout: timeout}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// nomadQuorum reads the Nomad servers' quorum every 250ms through
// NOMAD_ADDR (the load balancer in the blue/green test): the peers within
// 2s, the Raft configuration within 30s.
func nomadQuorum(t *testing.T, e *Env, up func(sandbox.Agent) bool) quorumSource {
	fast, slow := NomadAt(t, e.Vars["NOMAD_ADDR"], 2*time.Second), NomadAt(t, e.Vars["NOMAD_ADDR"], 30*time.Second)
	return quorumSource{kind: sandbox.NomadServer, every: 250 * time.Millisecond, up: up,
		peers: fast.Status().Peers,
		voters: func() (map[string]bool, error) {
			rc, err := slow.Operator().RaftGetConfiguration(&nomad.QueryOptions{AllowStale: true})
			if err != nil {
				return nil, err
			}
			return VoterMap(rc.Servers, func(s *nomad.RaftServer) (string, bool) { return s.Address, s.Voter }), nil
		}}
}

// BgWatchQuorum watches the Nomad servers' quorum (nomadQuorum), counting
// a voter up while its process runs.
func BgWatchQuorum(t *testing.T, e *Env) *QuorumWatch {
	return watchQuorum(e, nomadQuorum(t, e, processRuns))
}

// WatchQuorumAnswering is BgWatchQuorum with another test of "up": the
// server answers on its own HTTP address within a second. BgWatchQuorum
// counts a server up while the sandbox holds a PID for it, and the sandbox
// keeps the PID of a start that failed (the rollback test's broken
// binary), so it would count the server that never came back as up.
func WatchQuorumAnswering(t *testing.T, e *Env) *QuorumWatch {
	return watchQuorum(e, nomadQuorum(t, e, func(a sandbox.Agent) bool {
		_, err := NomadAt(t, "http://"+a.HTTPAddr(), time.Second).Agent().Self()
		return err == nil
	}))
}

// WatchConsulQuorum watches Consul's quorum every 100ms: the peers and the
// leader through CONSUL_HTTP_ADDR within 2s, the Raft configuration
// through the Consul agent cc talks to; a voter is up while its process
// runs.
func WatchConsulQuorum(t *testing.T, e *Env, cc *consul.Client) *QuorumWatch {
	fast, err := consul.NewClient(&consul.Config{Address: e.Vars["CONSUL_HTTP_ADDR"], HttpClient: &http.Client{Timeout: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return watchQuorum(e, quorumSource{kind: sandbox.ConsulServer, every: 100 * time.Millisecond, up: processRuns, restarts: true,
		peers:  fast.Status().Peers,
		leader: fast.Status().Leader,
		voters: func() (map[string]bool, error) {
			rc, err := cc.Operator().RaftGetConfiguration(&consul.QueryOptions{AllowStale: true})
			if err != nil {
				return nil, err
			}
			return VoterMap(rc.Servers, func(s *consul.RaftServer) (string, bool) { return s.Address, s.Voter }), nil
		}})
}

// VoterMap maps each Raft server's address to whether it votes.
func VoterMap[S any](servers []S, peer func(S) (addr string, voter bool)) map[string]bool {
	vs := map[string]bool{}
	for _, s := range servers {
		addr, v := peer(s)
		vs[addr] = v
	}
	return vs
}

// PassingNodes lists, sorted, the Consul nodes on which service svc has a
// passing instance.
func PassingNodes(cc *consul.Client, svc string) ([]string, error) {
	entries, _, err := cc.Health().Service(svc, "", true, nil)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var nodes []string
	for _, en := range entries {
		if !seen[en.Node.Node] {
			seen[en.Node.Node] = true
			nodes = append(nodes, en.Node.Node)
		}
	}
	sort.Strings(nodes)
	return nodes, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// CheckRollingOrder checks the order of a rolling upgrade of three
// servers from the apply's own lines: the snapshot first, each server
// stopped only after the previous one is healthy again, and leadership
// moved off the last one before it stops. key matches a step.upgrade
// instance key and captures the server's name, transfer matches the
// leadership transfer's line and captures the name, and cluster ("" or
// "Consul ") names the servers in the errors. It returns the last server
// upgraded.
func CheckRollingOrder(t *testing.T, stdout, key, transfer, cluster string) string {
	t.Helper()
	stopRE := regexp.MustCompile(`step\.upgrade\["` + key + `"\]\.step\.stop: starting`)
	healthyRE := regexp.MustCompile(`step\.upgrade\["` + key + `"\]\.step\.start: wait server_healthy held`)
	transferRE := regexp.MustCompile(transfer)
	var events []string
	for _, line := range strings.Split(stdout, "\n") {
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
				t.Errorf("%sleadership was moved off %s with %d servers upgraded, want 2 (the leader goes last): %q", cluster, name, len(stopped), events)
			}
		}
	}
	if len(stopped) != 3 {
		t.Fatalf("want 3 %sservers stopped once each: %q", cluster, events)
	}
	if transferred != last {
		t.Errorf("%sleadership was moved off %q, but the last server upgraded was %s: the leader must go last: %q", cluster, transferred, last, events)
	}
	return last
}

// followNodes runs read in a goroutine as a loop of blocking queries on
// the node list until ctx ends: each returns as soon as the list's index
// moves past the last one read (or after 5s). A failed read is tried again
// after 100ms.
func (e *Env) FollowNodes(ctx context.Context, wg *sync.WaitGroup, read func(nodes []*nomad.NodeListStub, index uint64)) {
	c := e.Nomad()
	e.Follow(ctx, wg, func(q *nomad.QueryOptions) (uint64, error) {
		nodes, meta, err := c.Nodes().List(q)
		if err != nil {
			return 0, err
		}
		read(nodes, meta.LastIndex)
		return meta.LastIndex, nil
	})
}

// follow runs query in a goroutine, with the index it last returned as
// the wait index, until ctx ends; wg waits for the goroutine. A failed
// query is tried again after 100ms; an index that went back starts over
// from 0.
func (e *Env) Follow(ctx context.Context, wg *sync.WaitGroup, query func(q *nomad.QueryOptions) (uint64, error)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		var idx uint64
		for ctx.Err() == nil {
			last, err := query((&nomad.QueryOptions{WaitIndex: idx, WaitTime: 5 * time.Second}).WithContext(ctx))
			if err != nil {
				// Back off before asking again; ctx ending stops the wait.
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			if last < idx {
				idx = 0
			} else {
				idx = last
			}
		}
	}()
}
