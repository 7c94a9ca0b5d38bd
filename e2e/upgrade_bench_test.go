package e2e

import (
	"context"
	"flag"
	"github.com/nrun-dev/nrun/e2e/e2etest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/sandbox"
)

var stabilization = flag.Duration("stabilization", 0, "BenchmarkRollingUpgrade: autopilot's server_stabilization_time in the sandboxes (0: the sandbox's 2s; Nomad's default is 10s)")

// BenchmarkRollingUpgrade measures the rolling upgrade of three real
// Nomad servers from 1.9.4 to 1.10.0 against its floor, on two fresh
// sandboxes of the same shape:
//
//   - floor: the unavoidable part, done directly through the sandbox
//     library with a 50ms poll: for each server (followers first, the
//     leader last, without any leadership transfer), stop it, start it on
//     the new binary, wait until autopilot reports it a healthy voter on
//     the new version, then for server_stabilization_time. That is restart
//   - rejoin + autopilot stabilization, summed over the servers.
//   - nrun: `nrun apply PLANFILE` of runbooks/nomad-server-rolling-upgrade
//     (plan made beforehand and not timed), which also snapshots before and
//     after, checks quorum before every stop, moves leadership off the
//     last server, and verifies versions and health at the end.
//
// Run once per setting (each iteration starts two clusters):
//
//	go test ./e2e -run '^$' -bench RollingUpgrade -benchtime 1x
//	go test ./e2e -run '^$' -bench RollingUpgrade -benchtime 1x -stabilization 10s
func BenchmarkRollingUpgrade(b *testing.B) {
	spec := func() sandbox.Spec {
		s := sandbox.DefaultSpec("", 3, 2, 0, sandbox.OldNomadVersion)
		s.ServerStabilizationTime = *stabilization
		return s
	}
	var floor, run time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		f := upgradeFloor(b, newEnv(b, spec()))
		floor += f
		e := newEnv(b, spec())
		rb := e2etest.CopyRunbook(b, e.Dir, "nomad-server-rolling-upgrade.nrun.hcl", "sandbox.nrunvars.hcl")
		if r := e.Nrun("plan", "-detailed-exitcode", "-var-file", filepath.Join(filepath.Dir(rb), "sandbox.nrunvars.hcl"), "-out", "up.nrunplan", rb); r.Code != 2 {
			b.Fatalf("want exit 2 (a plan with changes): %s", r)
		}
		b.StartTimer()
		r := e.MustNrun("apply", "up.nrunplan")
		b.StopTimer()
		run += r.Took
		b.Logf("floor %s, nrun apply %s", f.Round(time.Millisecond), r.Took.Round(time.Millisecond))
		for _, line := range strings.Split(r.Stdout, "\n") {
			if strings.Contains(line, "held") || strings.Contains(line, "finished (") || strings.Contains(line, "transfer") {
				b.Log(line)
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(floor.Seconds()/n, "floor-s")
	b.ReportMetric(run.Seconds()/n, "nrun-s")
	b.ReportMetric(100*(run-floor).Seconds()/floor.Seconds(), "overhead-%")
}

// upgradeFloor upgrades every server of e's sandbox the shortest correct
// way and returns the time it took.
func upgradeFloor(t testing.TB, e *env) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	nc := e.Nomad()
	cfg, _, err := nc.Operator().AutopilotGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	stable := cfg.ServerStabilizationTime
	// Every server healthy and stable before the clock starts.
	for _, s := range []string{"s1", "s2", "s3"} {
		waitStable(t, nc, s, sandbox.OldNomadVersion, stable)
	}
	leader, err := e.SB.Leader()
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, s := range []string{"s1", "s2", "s3"} {
		if s+".global" != leader && s != leader {
			order = append(order, s)
		}
	}
	order = append(order, e2etest.TrimRegion(leader))
	start := time.Now()
	for _, s := range order {
		began := time.Now()
		if err := e.SB.StopServer(ctx, s); err != nil {
			t.Fatal(err)
		}
		if err := e.SB.StartServer(ctx, s, sandbox.DefaultNomadVersion); err != nil {
			t.Fatal(err)
		}
		waitStable(t, nc, s, sandbox.DefaultNomadVersion, stable)
		// Per server, to set against nrun's instances phase by phase.
		t.Logf("floor: %s upgraded and stable in %s", s, time.Since(began).Round(time.Millisecond))
	}
	return time.Since(start)
}

// waitStable polls autopilot every 50ms until it reports server as a
// healthy voter running version, then until it has been stable for
// stable. Autopilot refreshes its health every couple of seconds and may
// not notice a quick restart at all, keeping StableSince from before it:
// only the new version in its report proves it has seen the new process,
// so stability counts from the later of StableSince and that moment.
func waitStable(t testing.TB, nc *nomad.Client, server, version string, stable time.Duration) {
	t.Helper()
	var seen time.Time
	eventually50(t, server+" healthy and stable on "+version, 5*time.Minute, func() bool {
		h, _, err := nc.Operator().AutopilotServerHealth(nil)
		if err != nil || h == nil {
			return false
		}
		for _, s := range h.Servers {
			if e2etest.TrimRegion(s.Name) != server {
				continue
			}
			if !s.Healthy || !s.Voter || s.SerfStatus != "alive" || s.Version != version {
				seen = time.Time{}
				return false
			}
			if seen.IsZero() {
				seen = time.Now()
			}
			from := seen
			if s.StableSince.After(from) {
				from = s.StableSince
			}
			return time.Since(from) >= stable
		}
		return false
	})
}

func eventually50(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %s", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
