package lang

import (
	"reflect"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/addrs"
)

func TestStepDecoding(t *testing.T) {
	rb := mustParse(t, `
data "nomad_servers" "all" {}
step "a" {
  action "approval" { message = "x" }
}
step "b" {
  for_each   = data.nomad_servers.all.by_name
  depends_on = [step.a, step.a]
  timeout    = "1d"
  on_failure = "pause"
  allow_unsafe {
    rules  = ["NR-S001", "NR-S004"]
    reason = "lab"
  }
  action "exec" {
    command = ["echo", step.a.output, step.a.output]
    effect  = "destroy"
  }
}
step "c" {
  target = "node-1"
  action "nomad_node_drain" {}
}
`)
	b := rb.Step(addrs.TopStep("b"))
	if len(b.DependsOn) != 1 || len(b.Refs) != 1 || b.Refs[0].Addr != addrs.TopStep("a") {
		t.Errorf("DependsOn %v Refs %v; want one of each, deduplicated", b.DependsOn, b.Refs)
	}
	if b.Timeout != 24*time.Hour || b.OnFailure != OnFailurePause || b.MaxParallel != 1 {
		t.Errorf("b = timeout %v on_failure %v max_parallel %d", b.Timeout, b.OnFailure, b.MaxParallel)
	}
	if !reflect.DeepEqual(b.AllowUnsafe.Rules, []string{"NR-S001", "NR-S004"}) || len(b.AllowUnsafe.RuleRanges) != 2 {
		t.Errorf("allow_unsafe = %+v", b.AllowUnsafe)
	}
	if b.Action.Effect != EffectDestroy || b.Action.Args["effect"] != nil || b.Action.Args["command"] == nil {
		t.Errorf("action = %+v", b.Action)
	}
	if tr := b.EffectiveTarget(); tr == nil || len(tr.Variables()) != 1 || tr.Variables()[0].RootName() != "each" {
		t.Errorf("b's implicit target should be each.value")
	}
	c := rb.Step(addrs.TopStep("c"))
	if c.Action.Effect != EffectDrain || c.EffectiveTarget() != c.Target {
		t.Errorf("c = %+v", c)
	}
	if rb.Step(addrs.TopStep("a")).EffectiveTarget() != nil {
		t.Error("a has no target")
	}
	if rb.DataSource("data.nomad_servers.all") == nil || rb.DataSource("data.nomad_nodes.all") != nil {
		t.Error("DataSource lookup")
	}
	if diags := Validate(rb, nil); len(diags) != 0 {
		t.Errorf("Validate: %v", diags)
	}
}

// TestAttrRanges: every attribute decoded to a plain value keeps its
// range, so later stages never go back to the syntax tree.
func TestAttrRanges(t *testing.T) {
	rb := mustParse(t, `
step "b" {
  max_parallel = 2
  timeout      = "1m"
  retry {
    attempts = 3
  }
  allow_unsafe {
    rules  = ["NR-S001"]
    reason = "lab"
  }
  action "sleep" {
    duration = "1s"
  }
  wait "quorum_ok" {
    timeout = "2m"
  }
}
output "o" {
  value       = 1
  description = "d"
}
`)
	b := rb.Step(addrs.TopStep("b"))
	want := map[string]int{ // attribute -> line
		"max_parallel": 3, "timeout": 4,
	}
	for name, line := range want {
		if r, ok := b.AttrRanges[name]; !ok || r.Start.Line != line {
			t.Errorf("step %s: range %v, want line %d", name, r, line)
		}
	}
	if r := b.Retry.AttrRanges["attempts"]; r.Start.Line != 6 {
		t.Errorf("retry attempts: range %v, want line 6", r)
	}
	if r := b.AllowUnsafe.AttrRanges["reason"]; r.Start.Line != 10 {
		t.Errorf("allow_unsafe reason: range %v, want line 10", r)
	}
	if r := b.Waits[0].AttrRanges["timeout"]; r.Start.Line != 16 {
		t.Errorf("wait timeout: range %v, want line 16", r)
	}
	if r := rb.Outputs[0].AttrRanges["description"]; r.Start.Line != 21 {
		t.Errorf("output description: range %v, want line 21", r)
	}
}
