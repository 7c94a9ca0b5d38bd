package planner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// capacityRunbook drains the default pool's nodes, maxParallel at a time,
// after making the whole pool ineligible first when ineligible is set.
func capacityRunbook(maxParallel int, ineligible bool) string {
	var b strings.Builder
	b.WriteString("data \"nomad_nodes\" \"pool\" {\n  node_pool = \"default\"\n  name = \"^c\"\n}\n")
	dep := ""
	if ineligible {
		b.WriteString("data \"nomad_nodes\" \"all\" {\n  node_pool = \"default\"\n}\n")
		b.WriteString("step \"ineligible\" {\n  for_each = data.nomad_nodes.all.by_name\n  max_parallel = 5\n  target = each.value\n  action \"nomad_node_eligibility\" { eligible = false }\n}\n")
		dep = "  depends_on = [step.ineligible]\n"
	}
	fmt.Fprintf(&b, "step \"drain\" {\n  for_each = data.nomad_nodes.pool.by_name\n  max_parallel = %d\n%s  target = each.value\n  action \"nomad_node_drain\" { deadline = \"30m\" }\n  wait \"node_drained\" { timeout = \"40m\" }\n}\n", maxParallel, dep)
	return b.String()
}

func capNode(name, pool string, moving, free int64) cview.Node {
	n := cview.Node{ID: "id-" + name, Name: name, NodePool: pool, Status: "ready", Eligibility: "eligible"}
	if moving >= 0 {
		n.Resources = &cview.Resources{CPU: 1000 + moving + free, MemoryMB: 1000 + moving + free,
			AllocatedCPU: 1000 + moving, AllocatedMemoryMB: 1000 + moving, SystemCPU: 1000, SystemMemoryMB: 1000}
	}
	return n
}

// anyPool marks all the moving work of nodes as jobs in node pool "all".
func anyPool(nodes []cview.Node) []cview.Node {
	for i := range nodes {
		if r := nodes[i].Resources; r != nil {
			r.AnyPoolCPU, r.AnyPoolMemoryMB = r.MovingCPU(), r.MovingMemoryMB()
		}
	}
	return nodes
}

// TestSafetyCapacity plans drains against views with and without
// resources: NR-S011 counts offline and adds up resources at plan.
func TestSafetyCapacity(t *testing.T) {
	// c1..c4 match the data source; other is in the pool, not in the set.
	four := func(moving, free int64) []cview.Node {
		return []cview.Node{capNode("c1", "default", moving, free), capNode("c2", "default", moving, free),
			capNode("c3", "default", moving, free), capNode("c4", "default", moving, free)}
	}
	tests := map[string]struct {
		maxParallel int
		ineligible  bool
		nodes       []cview.Node
		want        hcl.DiagnosticSeverity // 0: no NR-S011
		detail      string
	}{
		"one at a time, fits": {1, false, append(four(100, 100), capNode("other", "default", 0, 400)), 0, ""},
		// By the last instance c1..c4 have all drained: 400 must fit in
		// other's 300.
		"one at a time, does not fit": {1, false, append(four(100, 100), capNode("other", "default", 0, 300)), hcl.DiagError,
			"4 nodes of pool \"default\"|400 MHz / 400 MB running|the 1 eligible, ready nodes left in the pool have 300 MHz / 300 MB free|sum of resources, not a placement"},
		"another pool does not help": {1, false, append(four(100, 100), capNode("other", "batch", 0, 1000)), hcl.DiagError, "the 0 eligible"},
		// Counting applies where the view has no resources; with
		// resources the sums decide.
		"all four at once, no resources":      {4, false, append(four(-1, 0), capNode("other", "default", 0, 1000)), hcl.DiagError, "all 4 of its nodes"},
		"three of four at once, no resources": {3, false, append(four(-1, 0), capNode("other", "default", 0, 1000)), hcl.DiagWarning, "3 of the 4 nodes"},
		"all four at once, room elsewhere":    {4, false, append(four(100, 0), capNode("other", "default", 0, 1000)), 0, ""},
		"all four at once, no room":           {4, false, append(four(100, 0), capNode("other", "default", 0, 300)), hcl.DiagError, "4 nodes of pool"},
		"made ineligible first":               {1, true, append(four(100, 0), capNode("other", "default", 0, 400)), hcl.DiagError, "the 0 eligible"},
		"no resources in the view":            {1, false, append(four(-1, 0), capNode("other", "default", 0, 400)), hcl.DiagWarning, "has no resources for c1, c2, c3, c4"},
		"only system jobs move":               {1, false, four(0, 0), 0, ""},
		// Jobs in node pool "all" may leave the pool; work bound to the
		// pool may not.
		"pool \"all\" work moves to another pool": {1, false, append(anyPool(four(100, 100)), capNode("other", "batch", 0, 1000)), 0, ""},
		"pool \"all\" work, no room anywhere": {1, false, append(anyPool(four(100, 100)), capNode("other", "batch", 0, 300)), hcl.DiagError,
			"0 MHz / 0 MB running that must move within the pool|Jobs in node pool \"all\" add 400 MHz / 400 MB|the 1 eligible, ready nodes of other pools, which have 300 MHz / 300 MB free"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			src := capacityRunbook(tc.maxParallel, tc.ineligible)
			rb, diags := lang.Parse(map[string][]byte{"c.nrun.hcl": []byte(src)})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			view := &cview.View{Nomad: &cview.NomadView{Nodes: tc.nodes}}
			sc, d := NewScope(rb, nil, view)
			if d.HasErrors() {
				t.Fatal(d)
			}
			g, _ := BuildGraph(rb)
			_, sd := CheckSafety(rb, g, SafetyOptions{Scope: sc, Nodes: tc.nodes})
			var got []*hcl.Diagnostic
			for _, d := range sd {
				if RuleOf(d) == RuleCapacity {
					got = append(got, d)
				} else if d.Severity == hcl.DiagError {
					t.Errorf("unexpected %s", d)
				}
			}
			if tc.want == 0 {
				if len(got) > 0 {
					t.Errorf("want no NR-S011, got %s", hcl.Diagnostics(got))
				}
				return
			}
			if len(got) == 0 {
				t.Fatalf("want NR-S011, got none (%s)", sd)
			}
			// One NR-S011 of the wanted severity says every part of the
			// detail (a view without resources also gets the warning
			// that capacity is not proven).
			found := false
			for _, d := range got {
				checkDiagShape(t, d)
				if d.Severity != tc.want {
					continue
				}
				has := true
				for _, part := range strings.Split(tc.detail, "|") {
					has = has && strings.Contains(d.Detail, part)
				}
				found = found || has
			}
			if !found {
				t.Errorf("want a severity %v NR-S011 saying %q, got %s", tc.want, tc.detail, hcl.Diagnostics(got))
			}
		})
	}
}

// TestSafetyCapacityCreatedClients: when an earlier step creates the
// clients the work is to move to (blue/green), the plan cannot know their
// resources: NR-S011 warns that capacity is not proven instead of
// refusing a pool with no room left in it today.
func TestSafetyCapacityCreatedClients(t *testing.T) {
	src := `terraform "fleet" {
  dir = "infra"
}
data "nomad_nodes" "blue" {
  node_pool = "default"
}
step "green" {
  action "terraform_apply" {
    terraform = terraform.fleet
    creates   = { nomad_clients = 2 }
  }
}
step "drain" {
  for_each     = data.nomad_nodes.blue.by_name
  max_parallel = 1
  depends_on   = [step.green]
  target       = each.value
  action "nomad_node_drain" { deadline = "30m" }
  wait "node_drained" { timeout = "40m" }
}
`
	nodes := []cview.Node{capNode("b1", "default", 100, 0), capNode("b2", "default", 100, 0)}
	rb, diags := lang.Parse(map[string][]byte{"c.nrun.hcl": []byte(src)})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	view := &cview.View{Nomad: &cview.NomadView{Nodes: nodes}}
	sc, d := NewScope(rb, nil, view)
	if d.HasErrors() {
		t.Fatal(d)
	}
	g, _ := BuildGraph(rb)
	_, sd := CheckSafety(rb, g, SafetyOptions{Scope: sc, Nodes: nodes, Plan: true, View: view})
	var warned bool
	for _, d := range sd {
		if RuleOf(d) != RuleCapacity {
			continue
		}
		if d.Severity == hcl.DiagError {
			t.Errorf("refused: %s", d.Detail)
		}
		warned = warned || strings.Contains(d.Detail, "after step.green creates client nodes")
	}
	if !warned {
		t.Errorf("no warning that capacity is not proven: %s", sd)
	}
}
