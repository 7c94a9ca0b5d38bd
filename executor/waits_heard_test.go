package executor

import (
	"testing"
	"time"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// TestContactWatch: a follower's LastContact frozen across reads (autopilot
// keeps the figures of a server it cannot reach) never counts as heard;
// one that changes does, from the read that saw the change; the leader is
// heard at once.
func TestContactWatch(t *testing.T) {
	view := func(leader bool, contact string) *cluster.View {
		return &cluster.View{Nomad: &cluster.NomadView{Raft: cluster.RaftView{Servers: []cluster.Server{
			{ID: "id-s1", Name: "s1.global", Leader: !leader, Voter: true, InRaft: true, Healthy: true},
			{ID: "id-s2", Name: "s2.global", Leader: leader, Voter: true, InRaft: true, Healthy: true, LastContact: contact},
		}}}}
	}
	gone := &cluster.View{Nomad: &cluster.NomadView{}}
	target := checks.Target{Kind: lang.TargetNomadServer, Name: "s2.global"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]struct {
		reads []*cluster.View
		// want[i] is since(t0) after read i, taken at t0 + i seconds.
		want []bool
	}{
		"frozen":        {reads: []*cluster.View{view(false, "20.9ms"), view(false, "20.9ms"), view(false, "20.9ms")}, want: []bool{false, false, false}},
		"changing":      {reads: []*cluster.View{view(false, "20.9ms"), view(false, "20.9ms"), view(false, "3.1ms")}, want: []bool{false, false, true}},
		"leader":        {reads: []*cluster.View{view(true, "")}, want: []bool{true}},
		"unknown":       {reads: []*cluster.View{gone}, want: []bool{false}},
		"then unknown":  {reads: []*cluster.View{view(false, "1ms"), gone, view(false, "2ms")}, want: []bool{false, false, false}},
		"then changing": {reads: []*cluster.View{view(false, "1ms"), gone, view(false, "2ms"), view(false, "3ms")}, want: []bool{false, false, false, true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var w contactWatch
			for i, v := range tc.reads {
				w.read(lang.CheckServerHealthy, checks.Args{}, target, v, t0.Add(time.Duration(i)*time.Second))
				if got := w.since(t0); got != tc.want[i] {
					t.Fatalf("read %d: heard = %v, want %v", i, got, tc.want[i])
				}
			}
			// Heard before a later start does not count for it.
			if w.since(t0.Add(time.Hour)) {
				t.Fatal("heard counts for a window that began after it")
			}
		})
	}
}
