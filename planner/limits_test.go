package planner

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// resolveSrc plans one runbook source against view.
func resolveSrc(t *testing.T, src string, inputs map[string]cty.Value, view *cview.View) (*Plan, hcl.Diagnostics) {
	t.Helper()
	rb, diags := lang.Parse(map[string][]byte{"r.nrun.hcl": []byte(src)})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return Resolve(rb, inputs, view, ResolveOptions{})
}

// tooMany returns the "Too many instances" diagnostics of diags.
func tooMany(diags hcl.Diagnostics) []*hcl.Diagnostic {
	var out []*hcl.Diagnostic
	for _, d := range diags {
		if d.Summary == "Too many instances" {
			out = append(out, d)
		}
	}
	return out
}

// A for_each whose length is only known at plan (a variable, an inventory)
// is refused by its length, before any instance exists, with a diagnostic
// that names the step, the count and the cap and says how to raise it.
func TestResolveInstanceCap(t *testing.T) {
	many := loadInventory(t, "healthy")
	base := many.Nomad.Nodes[0]
	many.Nomad.Nodes = nil
	for i := 0; i < 10001; i++ {
		n := base
		n.ID, n.Name = fmt.Sprintf("id-%05d", i), fmt.Sprintf("client-%05d", i)
		many.Nomad.Nodes = append(many.Nomad.Nodes, n)
	}
	tests := map[string]struct {
		src    string
		count  int // instances expected in the refused diagnostic; 0: none
		detail string
	}{
		"a hundred thousand from a variable": {
			src: `
variable "hosts" { type = map(string) }
step "s" {
  for_each = var.hosts
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}`,
			count:  100000,
			detail: "The for_each of step.s makes 100000 instances, more than the cap of 10000 per step",
		},
		"inventory of 10001 nodes": {
			src: `
data "nomad_nodes" "all" {}
step "drain" {
  for_each = data.nomad_nodes.all.by_name
  action "nomad_node_drain" {
    deadline = "1m"
  }
}`,
			count:  10001,
			detail: "raise the cap with max_instances = 10001 in the runbook block",
		},
		"raised cap": {
			src: `
runbook "r" {
  max_instances = 20000
}
data "nomad_nodes" "all" {}
step "drain" {
  for_each = data.nomad_nodes.all.by_name
  action "nomad_node_drain" {
    deadline = "1m"
  }
}`,
		},
		"total over the plan": {
			src: `
runbook "r" {
  max_total_instances = 20
}
variable "n" { type = number }
step "a" {
  for_each = toset([for i in range(var.n) : tostring(i)])
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
step "b" {
  for_each = toset([for i in range(var.n) : tostring(i)])
  step "x" {
    action "exec" {
      command = ["true"]
      effect  = "none"
    }
  }
}`,
			count:  10,
			detail: "The for_each of step.b adds 20 instances (inner steps included) to the 10 planned before it, more than the cap of 20 for the whole plan",
		},
	}
	hosts := make(map[string]cty.Value, 100000)
	for i := 0; i < 100000; i++ {
		hosts[fmt.Sprintf("h%07d", i)] = cty.StringVal("x")
	}
	inputs := map[string]map[string]cty.Value{
		"a hundred thousand from a variable": {"hosts": cty.MapVal(hosts)},
		"total over the plan":                {"n": cty.NumberIntVal(10)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p, diags := resolveSrc(t, tc.src, inputs[name], many)
			got := tooMany(diags)
			if tc.count == 0 {
				if diags.HasErrors() {
					t.Fatal(diags.Error())
				}
				if len(p.Instances) != 10001 {
					t.Errorf("%d instances, want 10001", len(p.Instances))
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one Too many instances diagnostic, got %d: %s", len(got), diags.Error())
			}
			if got[0].Subject == nil || !strings.Contains(got[0].Detail, tc.detail) {
				t.Errorf("detail %q\nwant it to contain %q (subject %v)", got[0].Detail, tc.detail, got[0].Subject)
			}
			if len(p.Instances) > 20 {
				t.Errorf("the plan built %d instances before refusing", len(p.Instances))
			}
		})
	}
}

// A NUL byte that only the plan's values reveal (an input, a node name
// read from the cluster) is refused at plan, once, before anything runs.
func TestResolveNULByte(t *testing.T) {
	view := loadInventory(t, "healthy")
	view.Nomad.Nodes[0].Name = "bad\x00node"
	tests := map[string]struct {
		src    string
		inputs map[string]cty.Value
		detail string
	}{
		"from an input": {
			src: `
variable "x" { type = string }
step "s" {
  action "exec" {
    command = ["echo", var.x]
    effect  = "none"
  }
}`,
			inputs: map[string]cty.Value{"x": cty.StringVal("a\x00b")},
			detail: `Element 1 of the argument "command"`,
		},
		"from a node name": {
			src: `
data "nomad_nodes" "all" {}
step "s" {
  for_each = data.nomad_nodes.all.by_name
  action "exec" {
    env     = { NODE = each.value.name }
    command = ["true"]
    effect  = "none"
  }
}`,
			detail: `The value of the key "NODE" of the argument "env"`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := resolveSrc(t, tc.src, tc.inputs, view)
			var got []*hcl.Diagnostic
			for _, d := range diags {
				if d.Summary == "NUL byte in a string" {
					got = append(got, d)
				}
			}
			if len(got) != 1 {
				t.Fatalf("want one NUL diagnostic, got %d: %s", len(got), diags.Error())
			}
			if !strings.Contains(got[0].Detail, tc.detail) || got[0].Subject == nil {
				t.Errorf("detail %q, want %q", got[0].Detail, tc.detail)
			}
		})
	}
}
