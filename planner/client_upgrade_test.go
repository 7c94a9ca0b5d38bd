package planner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/nrun-dev/nrun/lang"
)

const clientUpgradeRunbook = "../runbooks/nomad-client-rolling-upgrade.nrun.hcl"

// TestClientUpgradeRunbook plans runbooks/nomad-client-rolling-upgrade
// against the healthy inventory (servers and both clients on 1.9.4): the
// gate blocks while a server is older than the version asked for, plans
// only the clients older than it, resolves max_parallel from its
// variable, and the safety analysis at plan refuses to drain both clients
// at once (NR-S011) but accepts one at a time.
func TestClientUpgradeRunbook(t *testing.T) {
	cases := map[string]struct {
		vars         []string
		serversAt    string // "" keeps the inventory's 1.9.4
		gateBlocked  bool
		upgrades     int
		capacityErr  bool
		wantParallel int
	}{
		"servers older: the gate blocks": {vars: []string{"version=1.10.0"}, gateBlocked: true, upgrades: 2, wantParallel: 1},
		"servers upgraded":               {vars: []string{"version=1.10.0"}, serversAt: "1.10.0", upgrades: 2, wantParallel: 1},
		"servers newer than asked":       {vars: []string{"version=1.9.5"}, serversAt: "1.10.0", upgrades: 2, wantParallel: 1},
		"clients already there":          {vars: []string{"version=1.9.4"}, upgrades: 0, wantParallel: 1},
		"both clients at once":           {vars: []string{"version=1.10.0", "max_parallel=2"}, serversAt: "1.10.0", upgrades: 2, capacityErr: true, wantParallel: 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rb, diags := lang.Load(clientUpgradeRunbook)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			inputs, d := lang.InputValues(rb, append([]string{"mode=sandbox"}, tc.vars...), nil)
			if d.HasErrors() {
				t.Fatal(d)
			}
			view := loadInventory(t, "healthy")
			if tc.serversAt != "" {
				for i := range view.Nomad.Raft.Servers {
					view.Nomad.Raft.Servers[i].Version = tc.serversAt
				}
			}
			p, d := Resolve(rb, inputs, view, ResolveOptions{})
			if tc.capacityErr {
				if !d.HasErrors() || !strings.Contains(d.Error(), RuleCapacity) {
					t.Fatalf("want the plan refused by %s, got %v", RuleCapacity, d)
				}
				t.Logf("refused: %s", d.Error())
				return
			}
			if d.HasErrors() {
				t.Fatalf("resolve: %s", d.Error())
			}
			gate, upgrades := 0, 0
			for _, in := range p.Instances {
				switch {
				case in.Addr.String() == "step.servers_first":
					gate++
					if in.BlockedNow != tc.gateBlocked {
						t.Errorf("gate blocked now = %v, want %v: %+v", in.BlockedNow, tc.gateBlocked, in.Preconditions)
					}
				case strings.HasPrefix(in.Addr.String(), "step.upgrade[") && !strings.Contains(in.Addr.String(), "].step."):
					upgrades++
					if len(in.Inner) != 6 {
						t.Errorf("%s has %d inner instances, want 6 (ineligible, drain, stop, swap, start, eligible)", in.Addr, len(in.Inner))
					}
				}
			}
			if gate != 1 || upgrades != tc.upgrades {
				t.Errorf("planned %d gate and %d upgrade instances, want 1 and %d", gate, upgrades, tc.upgrades)
			}
			for _, s := range p.Steps {
				if s.Addr == "step.upgrade" && s.MaxParallel != tc.wantParallel {
					t.Errorf("step.upgrade max_parallel = %d, want %d", s.MaxParallel, tc.wantParallel)
				}
			}

			sc, d := NewScope(rb, inputs, view)
			if d.HasErrors() {
				t.Fatal(d)
			}
			g, _ := BuildGraph(rb)
			_, sd := CheckSafety(rb, g, SafetyOptions{Scope: sc, Nodes: view.Nomad.Nodes, Plan: true, View: view})
			var capErr []string
			for _, d := range sd {
				if d.Severity == hcl.DiagError {
					if RuleOf(d) == RuleCapacity {
						capErr = append(capErr, d.Detail)
					} else {
						t.Errorf("safety error: %s: %s", d.Summary, d.Detail)
					}
				}
			}
			if (len(capErr) > 0) != tc.capacityErr {
				t.Errorf("capacity errors %q, want any = %v", capErr, tc.capacityErr)
			}
			t.Log(fmt.Sprintf("%d instances; capacity: %q", len(p.Instances), capErr))
		})
	}
}
