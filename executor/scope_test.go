package executor

import (
	"os"
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

// TestPlanAndApplyAgree: one view gives the same data source values on the
// plan path (Resolve: the plan's scope and its instances' each.value) and
// on the apply path (the scope a run builds from a fresh view, and the
// each.value a precondition refreshes), the leader flag included, however
// the view marks its leader.
func TestPlanAndApplyAgree(t *testing.T) {
	const src = `
runbook "agree" {}
data "nomad_servers" "all" {}
data "consul_servers" "all" {}
data "nomad_nodes" "web" {
  name = "^web-"
}
step "each" {
  for_each = data.nomad_servers.all.by_name
  action "sleep" {
    duration = "1ms"
  }
}
`
	servers := func(leaderFlags ...bool) []cluster.Server {
		out := make([]cluster.Server, 3)
		for i := range out {
			n := string(rune('1' + i))
			out[i] = cluster.Server{ID: "id" + n, Name: "s" + n + ".global", Address: "10.0.0." + n + ":4647", Host: "10.0.0." + n,
				Voter: true, InRaft: true, Version: "1.10.0", Status: "alive", Datacenter: "dc1", RaftProtocol: "3"}
			if i < len(leaderFlags) {
				out[i].Leader = leaderFlags[i]
			}
		}
		return out
	}
	tests := map[string]struct {
		raft   cluster.RaftView
		leader string // "" for none
	}{
		"flag and address agree":     {cluster.RaftView{LeaderAddress: "10.0.0.2:4647", Servers: servers(false, true, false)}, "s2.global"},
		"flag only":                  {cluster.RaftView{Servers: servers(false, false, true)}, "s3.global"},
		"address only":               {cluster.RaftView{LeaderAddress: "10.0.0.1:4647", Servers: servers()}, "s1.global"},
		"flag wins over the address": {cluster.RaftView{LeaderAddress: "10.0.0.1:4647", Servers: servers(false, true, false)}, "s2.global"},
		"two flagged, the address decides": {
			cluster.RaftView{LeaderAddress: "10.0.0.3:4647", Servers: servers(false, true, true)}, "s3.global"},
		"two flagged, no address: the first": {cluster.RaftView{Servers: servers(true, true, false)}, "s1.global"},
		"no leader":                          {cluster.RaftView{Servers: servers()}, ""},
		"address of no server":               {cluster.RaftView{LeaderAddress: "10.9.9.9:4647", Servers: servers()}, ""},
	}
	dir := t.TempDir()
	path := dir + "/main.nrun.hcl"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	rb, diags := lang.Load(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			consul := tc.raft
			consul.Servers = append([]cluster.Server(nil), tc.raft.Servers...)
			view := &cluster.View{
				Nomad: &cluster.NomadView{Raft: tc.raft, Nodes: []cluster.Node{
					{ID: "n1", Name: "web-1", Status: "ready", Eligibility: "eligible", Meta: map[string]string{"a": "b"}},
					{ID: "n2", Name: "db-1", Status: "ready", Eligibility: "eligible"},
				}},
				Consul: &cluster.ConsulView{Raft: consul},
			}
			p, diags := planner.Resolve(rb, nil, view, planner.ResolveOptions{})
			if diags.HasErrors() {
				t.Fatalf("resolve: %s", diags.Error())
			}
			applySc, diags := planner.NewScope(rb, nil, view)
			if diags.HasErrors() {
				t.Fatalf("scope: %s", diags.Error())
			}
			for _, key := range []string{"nomad_servers.all", "consul_servers.all", "nomad_nodes.web"} {
				plan, apply := p.Scope().Data[key], applySc.Data[key]
				if !plan.IsWhollyKnown() || !plan.RawEquals(apply) {
					t.Errorf("data.%s differs:\nplan  %#v\napply %#v", key, plan, apply)
				}
			}
			for _, key := range []string{"nomad_servers.all", "consul_servers.all"} {
				l := applySc.Data[key].GetAttr("leader")
				switch {
				case tc.leader == "" && !l.IsNull():
					t.Errorf("data.%s.leader is %s, want none", key, l.GetAttr("name").AsString())
				case tc.leader != "" && (l.IsNull() || l.GetAttr("name").AsString() != tc.leader):
					t.Errorf("data.%s.leader is %#v, want %s", key, l, tc.leader)
				}
			}
			if l, ok := tc.raft.Leader(); ok != (tc.leader != "") || ok && l.Name != tc.leader {
				t.Errorf("RaftView.Leader is %q, want %q", l.Name, tc.leader)
			}
			n := 0
			for _, in := range p.Instances {
				if in.Each == nil {
					continue
				}
				n++
				planned, err := eachOf(in)
				if err != nil {
					t.Fatal(err)
				}
				want := planned.Value.GetAttr("name").AsString() == tc.leader
				if got := planned.Value.GetAttr("leader").True(); got != want {
					t.Errorf("%s: planned each.value.leader %v, want %v", in.Addr, got, want)
				}
				if live := liveEach(planned, view); !live.Value.RawEquals(planned.Value) {
					t.Errorf("%s: each.value at apply differs:\nplan  %#v\napply %#v", in.Addr, planned.Value, live.Value)
				}
			}
			if n != 3 {
				t.Errorf("%d instances with each, want 3", n)
			}
		})
	}
}
