package planner

import (
	"strings"
	"testing"

	cview "github.com/nrun-dev/nrun/cluster"
)

// TestCheckStale changes one fact of the live view at a time and checks
// that CheckStale names exactly what moved.
func TestCheckStale(t *testing.T) {
	saved := mustPlan(t, "testdata/plans/features.nrun.hcl", nil, []string{"token=x"}, "healthy")
	hash := saved.Runbook.SourceHash
	tests := map[string]struct {
		change     func(v *cview.View)
		sourceHash string
		want       []string // substrings of the summaries, in order
	}{
		"nothing moved": {change: func(v *cview.View) {}},
		"node modify index": {
			change: func(v *cview.View) { v.Nomad.Nodes[0].ModifyIndex = 157 },
			want:   []string{"node c1 (0d0e0f00): ModifyIndex 101 -> 157"},
		},
		"node gone": {
			change: func(v *cview.View) { v.Nomad.Nodes = v.Nomad.Nodes[1:] },
			want:   []string{"node c1 (0d0e0f00): ModifyIndex 101 -> gone"},
		},
		"leader": {
			change: func(v *cview.View) {
				moveLeader(&v.Nomad.Raft, 0)
			},
			want: []string{"nomad leader s2.global -> s1.global"},
		},
		"no leader": {
			change: func(v *cview.View) {
				v.Nomad.Raft.LeaderAddress = ""
				for i := range v.Nomad.Raft.Servers {
					v.Nomad.Raft.Servers[i].Leader = false
				}
			},
			want: []string{"nomad leader s2.global -> (none)"},
		},
		"voter replaced": {
			change: func(v *cview.View) { v.Nomad.Raft.Servers[2].ID = "new-id" },
			want:   []string{"nomad voters ["},
		},
		"raft index": {
			change: func(v *cview.View) { v.Nomad.Raft.Index = 9 },
			want:   []string{"nomad raft index 0 -> 9"},
		},
		"consul leader": {
			change: func(v *cview.View) { moveLeader(&v.Consul.Raft, 1) },
			want:   []string{"consul leader consul-1 -> consul-2"},
		},
		"consul not read": {
			change: func(v *cview.View) { v.Consul = nil },
			want:   []string{"consul voters"},
		},
		"job": {
			change: func(v *cview.View) { v.Nomad.Jobs[0].JobModifyIndex = 600 },
			want:   []string{"job default/web: JobModifyIndex 512 -> 600"},
		},
		"job gone": {
			change: func(v *cview.View) { v.Nomad.Jobs = nil },
			want:   []string{"job default/web: JobModifyIndex 512 -> gone"},
		},
		"sources": {
			change:     func(v *cview.View) {},
			sourceHash: "sha256:other",
			want:       []string{"runbook sources changed"},
		},
		"two at once": {
			change: func(v *cview.View) {
				v.Nomad.Nodes[1].ModifyIndex = 200
				moveLeader(&v.Nomad.Raft, 2)
			},
			want: []string{"nomad leader s2.global -> s3.global", "node c2 (0d0e0f00): ModifyIndex 102 -> 200"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			live := loadInventory(t, "healthy")
			tc.change(live)
			sh := hash
			if tc.sourceHash != "" {
				sh = tc.sourceHash
			}
			diags := CheckStale(saved, live, sh)
			if len(diags) != len(tc.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%s", len(diags), len(tc.want), diags.Error())
			}
			for i, d := range diags {
				if !strings.Contains(d.Summary, tc.want[i]) {
					t.Errorf("diagnostic %d: %q does not contain %q", i, d.Summary, tc.want[i])
				}
				if d.Subject != nil {
					t.Errorf("stale diagnostics are sourceless, got subject %v", d.Subject)
				}
				if !strings.Contains(d.Detail, "Run nrun plan again") {
					t.Errorf("detail does not say how to fix: %q", d.Detail)
				}
			}
		})
	}
}

func TestCheckStaleNoPlan(t *testing.T) {
	if d := CheckStale(nil, &cview.View{}, ""); !d.HasErrors() {
		t.Error("no error for a nil plan")
	}
}

func TestSourceHash(t *testing.T) {
	a := SourceHash(map[string][]byte{"a.nrun.hcl": []byte("x"), "b.nrun.hcl": []byte("y")})
	b := SourceHash(map[string][]byte{"b.nrun.hcl": []byte("y"), "a.nrun.hcl": []byte("x")})
	if a != b {
		t.Error("hash depends on map order")
	}
	// Moving a byte from one file to the next changes the hash.
	c := SourceHash(map[string][]byte{"a.nrun.hcl": []byte("xy"), "b.nrun.hcl": []byte("")})
	if a == c {
		t.Error("hash does not separate files")
	}
}

// moveLeader makes server i the leader, as a read after an election shows
// it: the status/leader address and the servers' own flags move together.
func moveLeader(r *cview.RaftView, i int) {
	r.LeaderAddress = r.Servers[i].Address
	for j := range r.Servers {
		r.Servers[j].Leader = j == i
	}
}
