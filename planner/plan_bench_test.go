package planner

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// bigInventory is a 3-server cluster with n client nodes in pool "default".
func bigInventory(tb testing.TB, n int) *cview.View {
	v := loadInventory(tb, "healthy")
	v.Nomad.Nodes = make([]cview.Node, n)
	for i := range n {
		v.Nomad.Nodes[i] = cview.Node{
			ID:   fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i),
			Name: fmt.Sprintf("client-%05d", i), Address: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			Datacenter: "dc1", NodePool: "default", Status: "ready", Eligibility: "eligible",
			Version: "1.9.4", ModifyIndex: uint64(1000 + i), Meta: map[string]string{"rack": fmt.Sprint(i % 20)},
			Allocs: cview.AllocCount{NonTerminal: 3, System: 1},
		}
	}
	return v
}

// drainAll drains every node, 10 at a time, with a precondition and a wait
// per instance, after a snapshot.
const drainAll = `
runbook "drain-all" {}

data "nomad_nodes" "all" {
  node_pool = "default"
}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "before.snap"
  }
}

step "drain" {
  for_each     = data.nomad_nodes.all.by_name
  max_parallel = 10
  depends_on   = [step.snapshot]
  target       = each.value
  precondition "node_ready" {}
  action "nomad_node_drain" {
    deadline = "30m"
  }
  wait "node_drained" {
    timeout = "40m"
  }
}
`

// fleetInventory is a 3-server cluster with n client nodes that carry
// resources and allocations, so the capacity rule (NR-S011) adds them up:
// nine in ten nodes are in pool "default", each running a system job and
// two service allocations of jobs in node pool "all"; the rest are in pool
// "spare" with room for everything that the drain of "default" moves.
func fleetInventory(tb testing.TB, n int) *cview.View {
	v := bigInventory(tb, n)
	spare := n / 10
	for i := range v.Nomad.Nodes {
		node := &v.Nomad.Nodes[i]
		if i >= n-spare {
			node.NodePool = "spare"
			node.Allocs = cview.AllocCount{NonTerminal: 1, System: 1}
			node.Resources = &cview.Resources{CPU: 16000, MemoryMB: 32768,
				AllocatedCPU: 100, AllocatedMemoryMB: 128, SystemCPU: 100, SystemMemoryMB: 128}
			continue
		}
		node.Resources = &cview.Resources{CPU: 4000, MemoryMB: 8192,
			AllocatedCPU: 1100, AllocatedMemoryMB: 1152, SystemCPU: 100, SystemMemoryMB: 128,
			AnyPoolCPU: 1000, AnyPoolMemoryMB: 1024}
	}
	return v
}

// BenchmarkPlan plans a drain of pool "default" from an inventory, 10
// nodes at a time. The budget is 300 ms per plan:
//
//	go test ./planner -run '^$' -bench BenchmarkPlan -benchtime 5x
//
// nodes=5000 has no resources in its inventory (NR-S011 counts nodes);
// the resources cases carry each node's capacity and allocations, so
// NR-S011 adds them up; nodes=10000 is the fleet-scale budget.
func BenchmarkPlan(b *testing.B) {
	rb, diags := lang.Parse(map[string][]byte{"drain.nrun.hcl": []byte(drainAll)})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	cases := []struct {
		name string
		view func(testing.TB) *cview.View
		// drained is how many nodes the drain covers.
		drained int
	}{
		{"nodes=5000", func(tb testing.TB) *cview.View { return bigInventory(tb, 5000) }, 5000},
		{"nodes=5000,resources", func(tb testing.TB) *cview.View { return fleetInventory(tb, 5000) }, 4500},
		{"nodes=10000", func(tb testing.TB) *cview.View { return fleetInventory(tb, 10000) }, 9000},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			view := tc.view(b)
			b.ReportAllocs()
			defer reportCPU(b)()
			for b.Loop() {
				p, diags := Resolve(rb, nil, view, ResolveOptions{})
				if diags.HasErrors() {
					b.Fatal(diags.Error())
				}
				if p.Summary.Instances != tc.drained+1 || len(p.Waves) != (tc.drained+9)/10+1 || p.Summary.DrainNodes != tc.drained {
					b.Fatalf("instances %d waves %d drain nodes %d", p.Summary.Instances, len(p.Waves), p.Summary.DrainNodes)
				}
			}
		})
	}
}

// TestFleetInventoryCapacity shows that BenchmarkPlan's fleet inventory
// exercises the capacity sums: the same plan with the spare pool too small
// for what the drain moves is refused by NR-S011.
func TestFleetInventoryCapacity(t *testing.T) {
	rb, diags := lang.Parse(map[string][]byte{"drain.nrun.hcl": []byte(drainAll)})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	view := fleetInventory(t, 1000)
	if _, diags := Resolve(rb, nil, view, ResolveOptions{}); diags.HasErrors() {
		t.Fatalf("the fleet inventory must plan: %s", diags.Error())
	}
	for i := range view.Nomad.Nodes {
		if n := &view.Nomad.Nodes[i]; n.NodePool == "spare" {
			n.Resources.CPU = 1000 // 100 spare nodes, 900 MHz free each; the drain moves 900,000 MHz
		}
	}
	_, diags = Resolve(rb, nil, view, ResolveOptions{})
	found := false
	for _, d := range diags {
		if d.Severity == hcl.DiagError && strings.Contains(d.Summary, "("+RuleCapacity+")") {
			found = true
		}
	}
	if !found {
		t.Fatalf("want an %s error for a spare pool too small, got: %s", RuleCapacity, diags.Error())
	}
}

// TestPlanBudget holds BenchmarkPlan's budget in the ordinary test run, with
// headroom for a loaded machine: 5,000 nodes must plan in well under a
// second (the benchmark's target is 300 ms).
func TestPlanBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	rb, diags := lang.Parse(map[string][]byte{"drain.nrun.hcl": []byte(drainAll)})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	view := bigInventory(t, 5000)
	best := time.Hour
	for range 3 {
		start := time.Now()
		p, diags := Resolve(rb, nil, view, ResolveOptions{})
		if d := time.Since(start); d < best {
			best = d
		}
		if diags.HasErrors() || p.Summary.DrainNodes != 5000 {
			t.Fatalf("drain nodes %d: %s", p.Summary.DrainNodes, diags.Error())
		}
	}
	t.Logf("5,000-node plan: %s", best)
	if best > time.Second {
		t.Errorf("planning 5,000 nodes took %s; the budget is 300 ms", best)
	}
}
