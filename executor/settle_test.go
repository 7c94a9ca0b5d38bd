package executor

import (
	"testing"
	"time"

	"github.com/nrun-dev/nrun/cluster"
)

// healthyView is a view whose autopilot says healthy or not.
func healthyView(ok bool) *cluster.View {
	return &cluster.View{Nomad: &cluster.NomadView{Raft: cluster.RaftView{Autopilot: cluster.Autopilot{Healthy: ok}}}}
}

func viewHealthy(v *cluster.View) bool { return v.Nomad.Raft.Autopilot.Healthy }

func TestSettleLogLendsOnlyUnbrokenReadsAfterTheLastChange(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	gap := 1500 * time.Millisecond

	type read struct {
		ms int
		ok bool
	}
	cases := []struct {
		name string
		// before: reads added before the change (dropped), after: reads
		// added after it ended; the last one of after is the caller's own.
		before, after []read
		changeAt      int // ms of begin and end of the change; -1: none
		busy          bool
		wantFrom      int
		wantN         int
	}{
		{name: "unbroken run", changeAt: -1, after: []read{{0, true}, {1000, true}, {2000, true}, {3000, true}}, wantFrom: 0, wantN: 4},
		{name: "a failing read ends the run", changeAt: -1, after: []read{{0, true}, {1000, false}, {2000, true}, {3000, true}}, wantFrom: 2000, wantN: 2},
		{name: "a gap ends the run", changeAt: -1, after: []read{{0, true}, {2000, true}, {3000, true}}, wantFrom: 2000, wantN: 2},
		{name: "reads before a change are not lent", before: []read{{0, true}, {1000, true}}, changeAt: 1500, after: []read{{2000, true}, {3000, true}}, wantFrom: 2000, wantN: 2},
		{name: "nothing is lent while a change runs", changeAt: -1, busy: true, after: []read{{0, true}, {1000, true}}, wantFrom: 1000, wantN: 1},
		{name: "the own read alone", changeAt: -1, after: []read{{3000, true}}, wantFrom: 3000, wantN: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var l settleLog
			for _, r := range c.before {
				l.add(at(r.ms), healthyView(r.ok))
			}
			if c.changeAt >= 0 {
				l.begin(at(c.changeAt))
				l.end(at(c.changeAt))
			}
			if c.busy {
				l.begin(at(-1))
			}
			for _, r := range c.after {
				l.add(at(r.ms), healthyView(r.ok))
			}
			if c.busy {
				// A read kept before the change began would not be lent
				// either: add one by hand to prove heldSince refuses.
				l.reads = append(l.reads, settleRead{at(c.after[len(c.after)-1].ms), healthyView(true)})
			}
			last := at(c.after[len(c.after)-1].ms)
			from, n := l.heldSince(last, gap, viewHealthy)
			if !from.Equal(at(c.wantFrom)) || n != c.wantN {
				t.Errorf("heldSince = %s, %d reads; want %s, %d", from.Sub(t0), n, at(c.wantFrom).Sub(t0), c.wantN)
			}
		})
	}
}

func TestSettleLogDropsReadsThatBeganDuringAChange(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 4, 0, 0, 0, time.UTC)
	var l settleLog
	l.begin(t0)
	l.add(t0.Add(time.Second), healthyView(true)) // during: dropped
	l.end(t0.Add(2 * time.Second))
	l.add(t0.Add(time.Second), healthyView(true)) // began during, finished after: dropped
	l.add(t0.Add(3*time.Second), healthyView(true))
	if len(l.reads) != 1 {
		t.Fatalf("kept %d reads, want only the one after the change", len(l.reads))
	}
	if from, n := l.heldSince(t0.Add(4*time.Second), time.Second, viewHealthy); n != 1 || !from.Equal(t0.Add(4*time.Second)) {
		t.Errorf("a read the log does not hold was lent: %s, %d", from, n)
	}
}
