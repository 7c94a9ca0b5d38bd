package lang

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/nrun-dev/nrun/addrs"
)

func TestParseDuration(t *testing.T) {
	tests := map[string]struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		"seconds":       {in: "30s", want: 30 * time.Second},
		"compound":      {in: "1h30m", want: 90 * time.Minute},
		"days":          {in: "2d", want: 48 * time.Hour},
		"days and more": {in: "1d12h", want: 36 * time.Hour},
		"millis":        {in: "250ms", want: 250 * time.Millisecond},
		"zero":          {in: "0s", want: 0},
		"empty":         {in: "", wantErr: true},
		"no unit":       {in: "5", wantErr: true},
		"words":         {in: "5 minutes", wantErr: true},
		"negative":      {in: "-1m", wantErr: true},
		"days trailing": {in: "1dx", wantErr: true},
		"huge days":     {in: "99999999999d", wantErr: true},
		"overflow":      {in: "36500d2540400h", wantErr: true},
		"hour overflow": {in: "9999999999h", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseDuration(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// The three object types must not convert into each other, or passing a
// server where a node is expected would not be a type error.
func TestObjectTypesDistinct(t *testing.T) {
	types := map[string]cty.Type{"server": ServerType, "node": NodeType, "consul": ConsulServerType}
	for from, ft := range types {
		for to, tt := range types {
			if from == to {
				continue
			}
			if _, err := convert.Convert(cty.UnknownVal(ft), tt); err == nil {
				t.Errorf("%s converts to %s", from, to)
			}
		}
		if TargetKindOf(ft) == TargetNone {
			t.Errorf("TargetKindOf(%s) = none", from)
		}
	}
	for _, dt := range DataSourceTypes {
		if DataSourceValueType(dt) == cty.DynamicPseudoType {
			t.Errorf("no value type for %s", dt)
		}
	}
	if !DataSourceValueType(DataConsulServers).AttributeType("leader").Equals(ConsulServerType) {
		t.Error("consul_servers.leader is not a Consul server")
	}
}

func TestSchemasConsistent(t *testing.T) {
	for name, spec := range ActionSpecs {
		if spec.Doc == "" {
			t.Errorf("action %s has no Doc", name)
		}
		if spec.Effect == "" {
			t.Errorf("action %s has no effect", name)
		}
		if spec.TargetAttr != "" && spec.Attr(spec.TargetAttr) == nil {
			t.Errorf("action %s: TargetAttr %q is not an argument", name, spec.TargetAttr)
		}
		for _, a := range spec.Attrs {
			if a.Doc == "" || a.Type == cty.NilType {
				t.Errorf("action %s argument %s lacks Doc or Type", name, a.Name)
			}
		}
	}
	for name, spec := range CheckSpecs {
		if spec.Doc == "" {
			t.Errorf("check %s has no Doc", name)
		}
		if spec.TargetAttr != "" && spec.Attr(spec.TargetAttr) == nil {
			t.Errorf("check %s: TargetAttr %q is not an argument", name, spec.TargetAttr)
		}
		for _, a := range spec.Attrs {
			if a.Name == checkTimeoutAttr || a.Name == checkIntervalAttr {
				t.Errorf("check %s redeclares %s", name, a.Name)
			}
			if a.Doc == "" || a.Type == cty.NilType {
				t.Errorf("check %s argument %s lacks Doc or Type", name, a.Name)
			}
		}
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b.nrun.hcl", `step "second" {
  depends_on = [step.first]
  action "approval" { message = "2" }
}`)
	write("a.nrun.hcl", `step "first" {
  action "approval" { message = "1" }
}`)
	write("notes.hcl", `this is not a runbook`)
	rb, diags := Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	var names []string
	for _, s := range rb.Steps {
		names = append(names, s.Name)
	}
	if !reflect.DeepEqual(names, []string{"first", "second"}) {
		t.Errorf("steps = %v; want files in name order", names)
	}
	if len(rb.Files) != 2 {
		t.Errorf("files = %d", len(rb.Files))
	}

	// A duplicate across files points at the second file.
	write("c.nrun.hcl", `step "first" {
  action "approval" { message = "again" }
}`)
	_, diags = Load(dir)
	if len(diags) != 1 || diags[0].Summary != "Duplicate step" || filepath.Base(diags[0].Subject.Filename) != "c.nrun.hcl" {
		t.Fatalf("got %v", diags)
	}

	empty := t.TempDir()
	if _, diags := Load(empty); !diags.HasErrors() || diags[0].Summary != "No runbook files" {
		t.Errorf("empty dir: %v", diags)
	}
	if _, diags := Load(filepath.Join(empty, "missing.nrun.hcl")); !diags.HasErrors() {
		t.Error("missing file: no error")
	}
}

func TestParseDeterministic(t *testing.T) {
	src, err := os.ReadFile("testdata/valid/brief_example.nrun.hcl")
	if err != nil {
		t.Fatal(err)
	}
	bad := []byte("step \"x\" {\n  foo = 1\n  bar = 2\n  baz = 3\n}\n")
	run := func() []string {
		rb, diags := Parse(map[string][]byte{"a.nrun.hcl": src, "b.nrun.hcl": bad, "c.nrun.hcl": bad})
		diags = append(diags, Validate(rb, nil)...)
		var out []string
		for _, d := range diags {
			out = append(out, d.Error())
		}
		for _, s := range rb.AllSteps() {
			out = append(out, s.Addr.String())
		}
		return out
	}
	first := run()
	for i := 0; i < 20; i++ {
		if got := run(); !reflect.DeepEqual(got, first) {
			t.Fatalf("run %d differs:\n%v\n%v", i, got, first)
		}
	}
}

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
