package executor

import (
	"testing"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// TestServerHeard: a follower's LastContact frozen across reads (autopilot
// keeps the figures of a server it cannot reach) never counts as heard;
// one that changes does, and so does the leader.
func TestServerHeard(t *testing.T) {
	view := func(leader bool, contact string) *cluster.View {
		return &cluster.View{Nomad: &cluster.NomadView{Raft: cluster.RaftView{Servers: []cluster.Server{
			{ID: "id-s1", Name: "s1.global", Leader: true, Voter: true, InRaft: true, Healthy: true},
			{ID: "id-s2", Name: "s2.global", Leader: leader, Voter: true, InRaft: true, Healthy: true, LastContact: contact},
		}}}}
	}
	target := checks.Target{Kind: lang.TargetNomadServer, Name: "s2.global"}
	tests := map[string]struct {
		reads []*cluster.View
		want  []bool
	}{
		"frozen":        {reads: []*cluster.View{view(false, "20.9ms"), view(false, "20.9ms"), view(false, "20.9ms")}, want: []bool{false, false, false}},
		"changing":      {reads: []*cluster.View{view(false, "20.9ms"), view(false, "20.9ms"), view(false, "3.1ms")}, want: []bool{false, false, true}},
		"leader":        {reads: []*cluster.View{view(true, "")}, want: []bool{true}},
		"unknown":       {reads: []*cluster.View{{Nomad: &cluster.NomadView{}}}, want: []bool{false}},
		"then unknown":  {reads: []*cluster.View{view(false, "1ms"), {Nomad: &cluster.NomadView{}}}, want: []bool{false, false}},
		"then changing": {reads: []*cluster.View{view(false, "1ms"), {Nomad: &cluster.NomadView{}}, view(false, "2ms")}, want: []bool{false, false, true}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			first := ""
			for i, v := range tc.reads {
				if got := serverHeard(checks.Args{}, target, v, &first); got != tc.want[i] {
					t.Fatalf("read %d: heard = %v, want %v", i, got, tc.want[i])
				}
			}
		})
	}
}
