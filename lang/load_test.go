package lang

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

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
	// Several errors per block, where iterating a map would shuffle them.
	bad := []byte(`step "x" {
  foo = 1
  bar = 2
  baz = 3
}
step "y" {
  action "sleep" {
    duration = "1s"
  }
  wait "server_healthy" {
    timeout  = "soon"
    interval = "often"
  }
}
nomad {
  address   = []
  region    = {}
  namespace = []
  ca_cert   = {}
}
data "nomad_nodes" "n" {
  name = "("
  meta = "x"
}
step "z" {
  action "exec" {
    command = ["x", data.nomad_node.n, data.nomad_nodez.n, data.nomad_nodes.m]
    effect  = "none"
  }
}
`)
	run := func() []string {
		rb, diags := Parse(map[string][]byte{"a.nrun.hcl": src, "b.nrun.hcl": bad})
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
