package executor

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// drainMany drains every node of pool m at once (eight concurrent drain
// waits, then eight node_ready waits) and makes each eligible again.
var drainMany = drainRunbook("m", 8, "30s", "2m")

// waitSourceRun is one measured run of drainMany.
type waitSourceRun struct {
	took                       time.Duration
	requests, blocking, stream int64
	reactions                  []time.Duration
	endpoints                  []string
}

func (r waitSourceRun) perMinute() float64 { return float64(r.requests) / r.took.Minutes() }

// BenchmarkWaitSource measures the two wait sources (Config.WaitSource) on
// eight concurrent drains with allocations moving: the requests nrun sends
// the servers (a counting proxy is its NOMAD_ADDR) and the reaction time,
// from an independent observer (its own blocking queries, not counted)
// seeing a node's drain complete to the start of that node's next step.
// Both must react within 100ms (median); the figures are in README, "At
// scale". A measurement, not a check CI needs (the stream's correctness is
// TestLiveWaitStreamFailsClosed's and the watcher's unit tests'), so it
// runs only with -bench:
//
//	go test ./executor -run '^$' -bench BenchmarkWaitSource -benchtime 1x -timeout 15m -v
func BenchmarkWaitSource(b *testing.B) {
	t := b
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	spec := sandbox.Spec{Servers: []sandbox.ServerSpec{{Name: "s1"}, {Name: "s2"}, {Name: "s3"}}}
	for i := 1; i <= 8; i++ {
		spec.Clients = append(spec.Clients, sandbox.ClientSpec{Name: fmt.Sprintf("m%d", i), NodePool: "m"})
	}
	spec.Clients = append(spec.Clients, sandbox.ClientSpec{Name: "x1", NodePool: "x"}, sandbox.ClientSpec{Name: "x2", NodePool: "x"})
	sb := sandboxtest.New(t, spec)
	sandboxtest.Timer(t)
	direct, err := sb.NomadClient()
	if err != nil {
		t.Fatal(err)
	}
	var target *url.URL
	for _, a := range sb.Agents() {
		if a.Kind == sandbox.NomadServer {
			target, _ = url.Parse("http://" + a.HTTPAddr())
			break
		}
	}
	var requests, blocking, stream atomic.Int64
	var byEndpoint sync.Map
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		key := r.Method + " " + uuidPath(r.URL.Path)
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/event/stream"):
			stream.Add(1)
		case r.URL.Query().Has("index"):
			// A blocking query, or (stream) a read that must not
			// go back behind an index already seen, which an
			// up-to-date server answers at once.
			blocking.Add(1)
			key += " (index)"
		}
		n, _ := byEndpoint.LoadOrStore(key, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()

	job := churnJob()
	if _, _, err := direct.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	settled := func() {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := sandbox.WaitJobsSettled(ctx, direct, map[string]int{*job.ID: *job.TaskGroups[0].Count}); err != nil {
			t.Fatal(err)
		}
	}
	e := liveEnv{sb: sb, root: sb.Root(), env: map[string]string{"NOMAD_REGION": "global", "NOMAD_ADDR": srv.URL}}
	nodes := map[string]string{}
	for i := 1; i <= 8; i++ {
		name := fmt.Sprintf("m%d", i)
		nodes[name] = nodeIDOf(direct, name)
	}

	measure := func(source string) waitSourceRun {
		settled()
		obs := observeDrains(direct, nodes, time.Now().Add(-time.Second))
		dir := t.TempDir()
		ev := &eventLog{}
		cfg := e.liveConfig(t, dir, drainMany, ev)
		cfg.WaitSource = source
		requests.Store(0)
		blocking.Store(0)
		stream.Store(0)
		byEndpoint.Clear()
		start := time.Now()
		res, err := Run(context.Background(), cfg)
		took := time.Since(start)
		obs.close()
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != journal.StatusFinished {
			log, _ := os.ReadFile(filepath.Join(res.RunDir, LogFile))
			t.Fatalf("%s: %+v\n%s", source, res, log)
		}
		if log, err := os.ReadFile(filepath.Join(res.RunDir, LogFile)); err == nil {
			for _, l := range strings.Split(string(log), "\n") {
				if strings.Contains(l, "event stream") {
					t.Logf("%s: audit log: %s", source, l)
				}
			}
		}
		out := waitSourceRun{took: took, requests: requests.Load(), blocking: blocking.Load(), stream: stream.Load()}
		byEndpoint.Range(func(k, v any) bool {
			out.endpoints = append(out.endpoints, fmt.Sprintf("%5d %s", v.(*atomic.Int64).Load(), k))
			return true
		})
		sort.Sort(sort.Reverse(sort.StringSlice(out.endpoints)))
		out.reactions = obs.reactions(t, source, nodes, ev)
		sort.Slice(out.reactions, func(i, j int) bool { return out.reactions[i] < out.reactions[j] })
		return out
	}

	runs := map[string][]waitSourceRun{}
	// Alternate, so a slower moment of the machine hits both.
	for round := 0; round < 2; round++ {
		for _, src := range []string{WaitSourceBlocking, WaitSourceStream} {
			r := measure(src)
			runs[src] = append(runs[src], r)
			t.Logf("%s, round %d: %s, %d requests (%.0f/min, %.1f per drained node), %d with an index, %d stream subscriptions; reactions %v\n%s",
				src, round, r.took.Round(time.Millisecond), r.requests, r.perMinute(), float64(r.requests)/8, r.blocking, r.stream, r.reactions, strings.Join(r.endpoints, "\n"))
		}
	}
	for _, src := range []string{WaitSourceBlocking, WaitSourceStream} {
		var all []time.Duration
		var req, blk int64
		var took time.Duration
		for _, r := range runs[src] {
			all = append(all, r.reactions...)
			req += r.requests
			blk += r.blocking
			took += r.took
			if src == WaitSourceStream && r.stream == 0 {
				t.Errorf("stream: the waits never subscribed to the event stream")
			}
			if src == WaitSourceBlocking && r.stream != 0 {
				t.Errorf("blocking: %d subscriptions to the event stream", r.stream)
			}
		}
		if len(all) == 0 {
			t.Fatalf("%s: no reaction measured", src)
		}
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		med := all[len(all)/2]
		n := float64(len(runs[src]))
		t.Logf("%s: %.0f requests per run (%.1f per drained node, %.0f/min), %.0f with an index; median reaction %v (max %v)",
			src, float64(req)/n, float64(req)/n/8, float64(req)/took.Minutes(), float64(blk)/n, med, all[len(all)-1])
		if med > 100*time.Millisecond {
			t.Errorf("%s: median reaction %v; the waits should react within 100ms", src, med)
		}
	}
}

// uuidPath replaces the IDs in an API path with :id.
func uuidPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if len(s) == 36 && strings.Count(s, "-") == 4 {
			parts[i] = ":id"
		}
	}
	return strings.Join(parts, "/")
}

// churnJob places six allocations over every pool (migrate two at a
// time), so the drains move allocations.
func churnJob() *nomad.Job { return sleepJob("churn", "all", 6, 2) }
