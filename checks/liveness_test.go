package checks

import (
	"strings"
	"testing"

	"github.com/nrun-dev/nrun/cluster"
)

// setRPC sets the RPC probe outcome of each named server of r.
func setRPC(t *testing.T, r *cluster.RaftView, outcome map[string]string) {
	t.Helper()
	for name, o := range outcome {
		found := false
		for i := range r.Servers {
			if short, _, _ := strings.Cut(r.Servers[i].Name, "."); short == name {
				r.Servers[i].RPC, found = o, true
			}
		}
		if !found {
			t.Fatalf("no server %s in the fixture", name)
		}
	}
}

// A voter autopilot still calls healthy but whose own liveness signal says
// down or unknown does not count: quorum_ok about another server fails
// and names the server and why.
func TestQuorumOKLiveness(t *testing.T) {
	cases := map[string]struct {
		consul  bool
		rpc     map[string]string
		status  map[string]string // gossip status overrides
		target  string
		ok      bool
		healthy int
		want    []string // substrings of the result
	}{
		"all up": {
			rpc: map[string]string{"s1": cluster.RPCUp, "s2": cluster.RPCUp, "s3": cluster.RPCUp}, target: "s2", ok: true, healthy: 3,
		},
		"follower refused": {
			rpc: map[string]string{"s1": cluster.RPCUp, "s2": cluster.RPCUp, "s3": cluster.RPCRefused}, target: "s2", healthy: 2,
			want: []string{"2/3 voters healthy, failure tolerance 0", "s3.global (its RPC address 127.0.0.1:4667 refuses connections", "tolerance after disruption -1", "wait until the server not counted is up again"},
		},
		"follower no answer": {
			rpc: map[string]string{"s1": cluster.RPCUp, "s2": cluster.RPCUp, "s3": cluster.RPCNoAnswer}, target: "s2", healthy: 2,
			want: []string{"s3.global (its RPC address 127.0.0.1:4667 did not answer within 1s)", "tolerance after disruption -1"},
		},
		"follower not probed": {
			rpc: map[string]string{"s1": cluster.RPCUp, "s2": cluster.RPCUp}, target: "s2", healthy: 2,
			want: []string{"s3.global (nrun did not probe its RPC address"},
		},
		"target itself refused costs nothing more": {
			rpc: map[string]string{"s1": cluster.RPCUp, "s2": cluster.RPCUp, "s3": cluster.RPCRefused}, target: "s3", ok: true, healthy: 2,
			want: []string{"target s3 is a voter not counted as alive -> tolerance after disruption 0"},
		},
		"gossip failed, autopilot healthy": {
			rpc: map[string]string{"s1": cluster.RPCUp, "s2": cluster.RPCUp, "s3": cluster.RPCUp}, status: map[string]string{"s3": "failed"}, target: "s2", healthy: 2,
			want: []string{"s3.global (gossip reports it failed)"},
		},
		"rpc ports filtered: gossip decides": {
			rpc: map[string]string{"s1": cluster.RPCNoAnswer, "s2": cluster.RPCNoAnswer, "s3": cluster.RPCNoAnswer}, target: "s2", ok: true, healthy: 3,
			want: []string{"liveness by " + cluster.LivenessGossip},
		},
		"rpc ports filtered, gossip failed": {
			rpc: map[string]string{"s1": cluster.RPCRefused, "s2": cluster.RPCRefused, "s3": cluster.RPCRefused}, status: map[string]string{"s3": "failed"}, target: "s2", healthy: 2,
			want: []string{"s3.global (gossip reports it failed)"},
		},
		"consul follower refused": {
			consul: true, rpc: map[string]string{"cs1": cluster.RPCUp, "cs2": cluster.RPCRefused, "cs3": cluster.RPCUp}, target: "cs3", healthy: 2,
			want: []string{"cs2 (its RPC address", "refuses connections", "tolerance after disruption -1"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			v := loadView(t, "healthy3")
			r := &v.Nomad.Raft
			tgt := server(tc.target)
			args := Args{}
			if tc.consul {
				r, tgt, args.Cluster = &v.Consul.Raft, consulServer(tc.target), "consul"
			}
			setRPC(t, r, tc.rpc)
			for i := range r.Servers {
				short, _, _ := strings.Cut(r.Servers[i].Name, ".")
				if st, ok := tc.status[short]; ok {
					r.Servers[i].Status = st
				}
			}
			if got := r.HealthyVoters(); got != tc.healthy {
				t.Errorf("HealthyVoters = %d, want %d", got, tc.healthy)
			}
			res := Eval("quorum_ok", args, tgt, v)
			if res.OK != tc.ok {
				t.Errorf("OK = %v, want %v: %s", res.OK, tc.ok, res)
			}
			for _, w := range tc.want {
				if !strings.Contains(res.String(), w) {
					t.Errorf("result lacks %q:\n%s", w, res)
				}
			}
		})
	}
}

// server_healthy agrees: autopilot healthy but refused is not healthy.
func TestServerHealthyLiveness(t *testing.T) {
	v := loadView(t, "healthy3")
	setRPC(t, &v.Nomad.Raft, map[string]string{"s1": cluster.RPCUp, "s2": cluster.RPCUp, "s3": cluster.RPCRefused})
	if r := Eval("server_healthy", Args{}, server("s3"), v); r.OK || !strings.Contains(r.Reason, "refuses connections") {
		t.Errorf("server_healthy s3 = %s, want not ok because it refuses connections", r)
	}
	if r := Eval("server_healthy", Args{}, server("s2"), v); !r.OK {
		t.Errorf("server_healthy s2 = %s, want ok", r)
	}
}
