package e2e

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"github.com/nrun-dev/nrun/e2e/e2etest"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

var (
	fleetPerPool = flag.Int("fleet-clients", 0, "BenchmarkFleetDrain: clients per pool (0: 30, or 3 when CI is set)")
	fleetSkipMem = flag.Bool("fleet-skip-memcheck", false, "BenchmarkFleetDrain: start the fleet even when MemAvailable looks too small")
	// fleetDeadline is the drain deadline of every measured drain, nrun's
	// and the floor's. Nomad 1.10 sometimes leaves a node whose
	// allocations have all moved marked as draining until its deadline
	// (0 to 6 nodes of 30 in a run, on either side): a short deadline
	// bounds what that costs. Nodes that reached it are reported.
	fleetDeadline = flag.Duration("fleet-deadline", 90*time.Second, "BenchmarkFleetDrain: the drain deadline, nrun's and the floor's (whole seconds)")
)

// BenchmarkFleetDrain drains node pool "a" of a fleet onto pool "b" (30
// clients each, three servers, the sandbox's fleet jobs: about one
// allocation per client, migrate max_parallel 2, 2 and 3), with nrun and
// against its floor, each on a fresh fleet of the same shape, for
// max_parallel 5 and 10:
//
//   - floor: the drain-node-pool procedure issued straight through the
//     Nomad API with the same concurrency: every node of the pool made
//     ineligible (5 at a time, each until it reads ineligible), then each
//     node drained (max_parallel at a time) and waited on with blocking
//     queries until Nomad reports its drain complete and no allocation of
//     it still runs.
//   - nrun: `nrun apply` of runbooks/drain-node-pool.nrun.hcl with its drain
//     step's max_parallel set (plan made beforehand and not timed), run as
//     a subprocess so its CPU time and peak memory can be read.
//
// Both end when every allocation has moved and is healthy (every fleet job
// runs its count, healthy, nothing left to stop), read without counting.
// Requests to the servers are counted by a reverse proxy that both sides
// use as NOMAD_ADDR.
//
//	go test ./e2e -run '^$' -bench BenchmarkFleetDrain -benchtime 1x -timeout 30m -v
func BenchmarkFleetDrain(b *testing.B) {
	perPool := *fleetPerPool
	if perPool == 0 {
		perPool = 30
		if sandboxtest.InCI() {
			perPool = 3
		}
	}
	if testing.Short() {
		b.Skip("starts real agents; skipped with -short")
	}
	// About 45 MiB per agent and 40 MiB per allocation, measured; ask for
	// twice that.
	need := int64(2*perPool+3)*45 + int64(2*perPool)*40
	if avail, ok := memAvailableMiB(); ok && avail < 2*need && !*fleetSkipMem {
		if sandboxtest.InCI() {
			b.Fatalf("a fleet of %d clients needs about %d MiB; %d MiB available", 2*perPool, 2*need, avail)
		}
		b.Skipf("a fleet of %d clients needs about %d MiB and %d MiB are available; use -fleet-clients N for a smaller pool", 2*perPool, 2*need, avail)
	}
	for _, mp := range []int{5, 10} {
		b.Run(fmt.Sprintf("max_parallel=%d", mp), func(b *testing.B) {
			var floor, run, cpu time.Duration
			var floorReq, runReq float64
			var rss int64
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				f := fleetDrainRun(b, perPool, mp, false)
				r := fleetDrainRun(b, perPool, mp, true)
				floor += f.Took
				run += r.Took
				cpu += r.cpu
				rss = max(rss, r.maxRSS)
				floorReq += f.perMinute()
				runReq += r.perMinute()
				b.Logf("%d+%d clients, max_parallel %d: floor %s (%d requests, %d blocking, %d nodes at the deadline); nrun %s (%d requests, %d blocking, %d nodes at the deadline), cpu %s, peak RSS %d MiB",
					perPool, perPool, mp, f.Took.Round(time.Millisecond), f.requests, f.blocking, f.atDeadline,
					r.Took.Round(time.Millisecond), r.requests, r.blocking, r.atDeadline, r.cpu.Round(time.Millisecond), r.maxRSS>>20)
			}
			n := float64(b.N)
			b.ReportMetric(floor.Seconds()/n, "floor-s")
			b.ReportMetric(run.Seconds()/n, "nrun-s")
			b.ReportMetric(100*(run-floor).Seconds()/floor.Seconds(), "overhead-%")
			b.ReportMetric(floorReq/n, "floor-req/min")
			b.ReportMetric(runReq/n, "nrun-req/min")
			b.ReportMetric(cpu.Seconds()/n, "nrun-cpu-s")
			b.ReportMetric(float64(rss)/(1<<20), "nrun-peak-MiB")
		})
	}
}

// drainRun is one measured drain of a fresh fleet.
type drainRun struct {
	Took               time.Duration
	requests, blocking int64
	atDeadline         int
	// cpu and maxRSS are nrun's (user + system time, peak resident set).
	cpu    time.Duration
	maxRSS int64
}

func (r drainRun) perMinute() float64 { return float64(r.requests) / r.Took.Minutes() }

// fleetDrainRun starts a fleet of 2*perPool clients in pools a and b with
// the fleet jobs, drains pool a by nrun (withNrun) or by the floor, and
// stops the fleet.
func fleetDrainRun(b *testing.B, perPool, mp int, withNrun bool) drainRun {
	b.Helper()
	spec := sandbox.DefaultSpec("", 3, 2*perPool, 0, sandbox.DefaultNomadVersion)
	spec.SpreadClients([]string{"a", "b"}, nil)
	spec.ReadyTimeout = 5 * time.Minute
	sb := sandboxtest.New(b, spec)
	defer func() {
		// As `nrun sandbox down` does: once no process of the fleet is
		// left, a recorded port that another program on this shared
		// machine took meanwhile is no failure of the benchmark.
		if err := sb.Stop(); err != nil {
			if len(sb.Processes()) > 0 {
				b.Errorf("stop the fleet: %v", err)
			} else {
				b.Logf("stop the fleet: warning: %v", err)
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if err := sb.RunFleetJobs(ctx, nil); err != nil {
		b.Fatalf("%v\n%s", err, sb.LogTails(20))
	}
	direct, err := sb.NomadClient()
	if err != nil {
		b.Fatal(err)
	}
	want := map[string]int{}
	for _, j := range sandbox.FleetJobs(2 * perPool) {
		want[*j.ID] = *j.TaskGroups[0].Count
	}
	// Every server request of the measured part goes through the proxy.
	var target *url.URL
	for _, a := range sb.Agents() {
		if a.Kind == sandbox.NomadServer {
			target, _ = url.Parse("http://" + a.HTTPAddr())
			break
		}
	}
	var requests, blocking atomic.Int64
	var byEndpoint sync.Map // "GET /v1/node/:id (blocking)" -> *atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		key := r.Method + " " + uuidRE.ReplaceAllString(r.URL.Path, ":id")
		if r.URL.Query().Has("index") {
			blocking.Add(1)
			key += " (blocking)"
		}
		n, _ := byEndpoint.LoadOrStore(key, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	counted, err := nomad.NewClient(&nomad.Config{Address: srv.URL, Region: "global"})
	if err != nil {
		b.Fatal(err)
	}
	pool := poolNodes(b, direct, "a")

	var res drainRun
	if withNrun {
		e := &env{&e2etest.Env{T: b, SB: sb, Dir: b.TempDir(), Vars: map[string]string{"NOMAD_ADDR": srv.URL}}}
		rb := drainRunbookWith(b, e.Dir, mp)
		if r := e.Nrun("plan", "-detailed-exitcode", "-var", "node_pool=a", "-var", fmt.Sprintf("deadline=%ds", int((*fleetDeadline).Seconds())), "-out", "drain.nrunplan", rb); r.Code != 2 {
			b.Fatalf("want exit 2 (a plan with changes): %s", r)
		}
		requests.Store(0)
		blocking.Store(0)
		byEndpoint.Clear()
		start := time.Now()
		b.StartTimer()
		out := e.nrunUsage(&res, "apply", "drain.nrunplan")
		if err := sandbox.WaitJobsSettled(ctx, direct, want); err != nil {
			b.Fatalf("after nrun apply: %v\n%s", err, out)
		}
		b.StopTimer()
		res.Took = time.Since(start)
	} else {
		start := time.Now()
		b.StartTimer()
		floorDrain(b, ctx, counted, pool, mp)
		if err := sandbox.WaitJobsSettled(ctx, direct, want); err != nil {
			b.Fatalf("after the floor's drain: %v", err)
		}
		b.StopTimer()
		res.Took = time.Since(start)
	}
	res.requests, res.blocking = requests.Load(), blocking.Load()
	var lines []string
	byEndpoint.Range(func(k, v any) bool {
		lines = append(lines, fmt.Sprintf("%6d %s", v.(*atomic.Int64).Load(), k))
		return true
	})
	sort.Sort(sort.Reverse(sort.StringSlice(lines)))
	who := "floor"
	if withNrun {
		who = "nrun"
	}
	b.Logf("%s, max_parallel %d: requests by endpoint:\n%s", who, mp, strings.Join(lines, "\n"))
	res.atDeadline = drainsAtDeadline(b, direct, pool)
	return res
}

// nrunUsage runs nrun as e.nrun does, fails b unless it exits 0, and adds
// its CPU time and peak resident set to res. It returns the output.
func (e *env) nrunUsage(res *drainRun, args ...string) string {
	e.T.Helper()
	cmd := exec.Command(e2etest.NrunBin, args...)
	cmd.Dir, cmd.Env = e.Dir, e.Environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		e.T.Fatalf("nrun %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		res.maxRSS = max(res.maxRSS, ru.Maxrss<<10) // kilobytes on Linux
	}
	return out.String()
}

// drainRunbookWith copies runbooks/drain-node-pool.nrun.hcl into dir with
// its drain step's max_parallel set to mp.
func drainRunbookWith(t testing.TB, dir string, mp int) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(e2etest.RunbooksDir(t), "drain-node-pool.nrun.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	// The drain step is the one with max_parallel = 1 (the ineligible
	// step runs 5 at a time).
	const one = "  max_parallel = 1\n"
	if bytes.Count(src, []byte(one)) != 1 {
		t.Fatalf("drain-node-pool.nrun.hcl: want one %q (the drain step's), the runbook changed", strings.TrimSpace(one))
	}
	src = bytes.Replace(src, []byte(one), fmt.Appendf(nil, "  max_parallel = %d\n", mp), 1)
	path := filepath.Join(dir, "drain-node-pool.nrun.hcl")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// poolNodes returns the IDs of the ready nodes of pool.
func poolNodes(t testing.TB, nc *nomad.Client, pool string) []string {
	t.Helper()
	nodes, _, err := nc.Nodes().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, n := range nodes {
		if n.NodePool == pool && n.Status == nomad.NodeStatusReady {
			ids = append(ids, n.ID)
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no ready node in pool %s", pool)
	}
	return ids
}

// floorDrain is the drain-node-pool procedure through the API, with no
// snapshot of the cluster, no plan, no journal and no checks beyond the
// waits: what any correct drain of the pool must do.
func floorDrain(t testing.TB, ctx context.Context, nc *nomad.Client, ids []string, mp int) {
	t.Helper()
	inParallel(t, ids, 5, func(id string) error {
		if _, err := nc.Nodes().ToggleEligibility(id, false, nil); err != nil {
			return err
		}
		return waitNode(ctx, nc, id, func(n *nomad.Node) bool { return n.SchedulingEligibility == nomad.NodeSchedulingIneligible })
	})
	inParallel(t, ids, mp, func(id string) error {
		spec := &nomad.DrainSpec{Deadline: *fleetDeadline}
		if _, err := nc.Nodes().UpdateDrainOpts(id, &nomad.DrainOptions{DrainSpec: spec}, nil); err != nil {
			return err
		}
		if err := waitNode(ctx, nc, id, func(n *nomad.Node) bool {
			return n.DrainStrategy == nil && n.LastDrain != nil && n.LastDrain.Status == nomad.DrainStatusComplete
		}); err != nil {
			return err
		}
		return waitNodeEmpty(ctx, nc, id)
	})
}

// inParallel runs f for every id, at most n at a time, and fails t with
// the first error.
func inParallel(t testing.TB, ids []string, n int, f func(string) error) {
	t.Helper()
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(id); err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("node %s: %w", id[:8], err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

// waitNode waits with blocking queries until cond holds for node id.
func waitNode(ctx context.Context, nc *nomad.Client, id string, cond func(*nomad.Node) bool) error {
	var index uint64
	for {
		q := (&nomad.QueryOptions{WaitIndex: index, WaitTime: 30 * time.Second}).WithContext(ctx)
		n, meta, err := nc.Nodes().Info(id, q)
		if err != nil {
			return err
		}
		if cond(n) {
			return nil
		}
		index = meta.LastIndex
	}
}

// waitNodeEmpty waits with blocking queries until no allocation of node
// id still runs (nor is pending) on its client.
func waitNodeEmpty(ctx context.Context, nc *nomad.Client, id string) error {
	var index uint64
	for {
		q := (&nomad.QueryOptions{WaitIndex: index, WaitTime: 30 * time.Second}).WithContext(ctx)
		allocs, meta, err := nc.Nodes().Allocations(id, q)
		if err != nil {
			return err
		}
		left := 0
		for _, a := range allocs {
			if a.ClientStatus == nomad.AllocClientStatusRunning || a.ClientStatus == nomad.AllocClientStatusPending {
				left++
			}
		}
		if left == 0 {
			return nil
		}
		index = meta.LastIndex
	}
}

// drainsAtDeadline counts the nodes of ids whose last drain took the
// deadline or longer: Nomad ended it, not the migrations.
func drainsAtDeadline(t testing.TB, nc *nomad.Client, ids []string) int {
	t.Helper()
	n := 0
	for _, id := range ids {
		node, _, err := nc.Nodes().Info(id, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := node.LastDrain; d != nil && d.UpdatedAt.Sub(d.StartedAt) >= *fleetDeadline-time.Second {
			n++
		}
	}
	return n
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// memAvailableMiB reads MemAvailable from /proc/meminfo.
func memAvailableMiB() (int64, bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		var kb int64
		if _, err := fmt.Sscanf(s.Text(), "MemAvailable: %d kB", &kb); err == nil {
			return kb >> 10, true
		}
	}
	return 0, false
}
