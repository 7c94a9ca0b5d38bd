package planner

import (
	"fmt"
	"testing"
	"time"

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

// BenchmarkPlan plans a drain over 5,000 nodes from an inventory. The
// budget is 300 ms per plan:
//
//	go test ./planner -run '^$' -bench BenchmarkPlan -benchtime 10x
func BenchmarkPlan(b *testing.B) {
	rb, diags := lang.Parse(map[string][]byte{"drain.nrun.hcl": []byte(drainAll)})
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	view := bigInventory(b, 5000)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		p, diags := Resolve(rb, nil, view, ResolveOptions{})
		if diags.HasErrors() {
			b.Fatal(diags.Error())
		}
		if p.Summary.Instances != 5001 || len(p.Waves) != 501 {
			b.Fatalf("instances %d waves %d", p.Summary.Instances, len(p.Waves))
		}
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
