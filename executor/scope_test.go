package executor

import (
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

// TestLiveEach: a custom precondition sees the server as the view shows it
// now, not as the plan recorded it.
func TestLiveEach(t *testing.T) {
	old := cluster.Server{ID: "id1", Name: "s1.global", Address: "127.0.0.1:4647", Host: "127.0.0.1", Voter: true, InRaft: true, Version: "1.9.4", Status: "alive"}
	planned := &lang.Each{Key: cty.StringVal("s1.global"), Value: planner.ServerValue(cluster.RaftView{}, old, lang.ServerType)}
	now := old
	now.Version = "1.10.0"
	view := &cluster.View{Nomad: &cluster.NomadView{Raft: cluster.RaftView{Servers: []cluster.Server{now}, LeaderAddress: now.Address}}}
	got := liveEach(planned, view)
	if v := got.Value.GetAttr("version").AsString(); v != "1.10.0" {
		t.Errorf("version %s, want the live 1.10.0", v)
	}
	if !got.Value.GetAttr("leader").True() {
		t.Error("leader not refreshed")
	}
	// A value that is not a cluster object is left alone.
	plain := &lang.Each{Key: cty.StringVal("a"), Value: cty.StringVal("a")}
	if liveEach(plain, view) != plain {
		t.Error("a string each.value changed")
	}
	// A server the view does not know keeps its planned value.
	gone := &cluster.View{Nomad: &cluster.NomadView{}}
	if liveEach(planned, gone) != planned {
		t.Error("an unknown server changed")
	}
	// Nodes too.
	n := cluster.Node{ID: "n1", Name: "c1", Status: "ready", Eligibility: "eligible"}
	pn := &lang.Each{Key: cty.StringVal("c1"), Value: planner.NodeValue(n)}
	n.Eligibility = "ineligible"
	got = liveEach(pn, &cluster.View{Nomad: &cluster.NomadView{Nodes: []cluster.Node{n}}})
	if got.Value.GetAttr("eligibility").AsString() != "ineligible" {
		t.Error("node not refreshed")
	}
}
