package executor

import (
	"testing"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

// TestClaimedTargetsCountAsDown: with three healthy voters, one instance
// may take a voter down; a second instance of the same wave that checks
// quorum_ok while the first is acting must see only two healthy voters
// and be refused. Its own claim, and its composite's, do not count.
func TestClaimedTargetsCountAsDown(t *testing.T) {
	srv := func(name string) cluster.Server {
		return cluster.Server{ID: name + "-id", Name: name + ".global", Address: name + ":4647", Voter: true, InRaft: true, Healthy: true, Status: "alive"}
	}
	view := &cluster.View{Nomad: &cluster.NomadView{Raft: cluster.RaftView{
		LeaderAddress: "s1:4647", Servers: []cluster.Server{srv("s1"), srv("s2"), srv("s3")}}}}
	mk := func(name string) *node {
		tgt := checks.Target{Kind: lang.TargetNomadServer, ID: name + "-id", Name: name}
		n := &node{addr: `step.up["` + name + `"]`, inst: &planner.Instance{}, tgt: &tgt}
		n.group = &group{root: n}
		return n
	}
	a, b := mk("s2"), mk("s3")
	r := &runner{}
	quorum := func(n *node) bool {
		return checks.Eval("quorum_ok", checks.Args{}, n.target(), r.withClaims(n, view)).OK
	}
	if !quorum(a) || !quorum(b) {
		t.Fatal("quorum_ok must hold for either server alone")
	}
	r.claim(a)
	if !quorum(a) {
		t.Error("an instance's own claim must not count against it")
	}
	if quorum(b) {
		t.Error("quorum_ok held for s3 while s2 is being taken down")
	}
	if !view.Nomad.Raft.Servers[1].Healthy {
		t.Error("withClaims changed the shared view")
	}
	inner := &node{addr: a.addr + ".step.stop", group: a.group, tgt: a.tgt, inst: &planner.Instance{}}
	if !quorum(inner) {
		t.Error("a claim of the instance's own composite must not count against it")
	}
	r.unclaim(a)
	if !quorum(b) {
		t.Error("a released claim still counts")
	}
}
