package tfrun_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
	"github.com/nrun-dev/nrun/tfrun"
)

// terraform returns a runner for the terraform on PATH, or skips (fails in
// CI, where a missing binary must not pass by skipping).
func terraform(t *testing.T) *tfrun.Terraform {
	t.Helper()
	bin, err := tfrun.Find()
	if err != nil {
		if sandboxtest.InCI() {
			t.Fatalf("CI is set and %v", err)
		}
		t.Skipf("skipping (set CI=true to make this a failure): %v", err)
	}
	return &tfrun.Terraform{Binary: bin, Output: logWriter{t}}
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// members is a configuration whose resources are files: each member's
// create provisioner writes one, its destroy provisioner removes it.
const members = `
variable "n" {
  type    = number
  default = 0
}
variable "dir" {
  type = string
}
variable "label" {
  type    = string
  default = "a"
}
resource "terraform_data" "member" {
  count = var.n
  input = { path = "${var.dir}/member-${count.index}", label = var.label }
  provisioner "local-exec" {
    command = "echo ${self.input.label} > ${self.input.path}"
  }
  provisioner "local-exec" {
    when    = destroy
    command = "rm -f ${self.input.path}"
  }
}
output "paths" {
  value = terraform_data.member[*].input.path
}
output "n" {
  value = var.n
}
`

func TestPlanApplyOutputs(t *testing.T) {
	sandboxtest.Timer(t)
	tf := terraform(t)
	dir, files := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(members), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vars := func(n int, label string) map[string]cty.Value {
		return map[string]cty.Value{"n": cty.NumberIntVal(int64(n)), "dir": cty.StringVal(files), "label": cty.StringVal(label)}
	}
	exists := func(i int) bool {
		_, err := os.Stat(filepath.Join(files, "member-"+string(rune('0'+i))))
		return err == nil
	}

	p, err := tf.Plan(ctx, dir, vars(2, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Add != 2 || p.Change != 0 || p.Destroy != 0 || len(p.Changes) != 2 {
		t.Fatalf("plan of 2 from nothing: %+v", p)
	}
	if got := p.Changes[0].String(); got != "+ terraform_data.member[0]" {
		t.Errorf("first change %q", got)
	}
	if exists(0) {
		t.Fatal("plan ran a provisioner")
	}

	out, err := tf.Apply(ctx, dir, vars(2, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if !exists(0) || !exists(1) {
		t.Fatal("apply of 2 did not run both create provisioners")
	}
	paths := out["paths"].Value
	if !paths.Type().IsTupleType() || paths.LengthInt() != 2 || paths.Index(cty.NumberIntVal(1)).AsString() != filepath.Join(files, "member-1") {
		t.Fatalf("output paths = %#v", paths)
	}
	if n, _ := out["n"].Value.AsBigFloat().Int64(); n != 2 {
		t.Errorf("output n = %#v", out["n"].Value)
	}

	// The resume probe: the same vars again change nothing.
	p, err = tf.Plan(ctx, dir, vars(2, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.NoChanges() || p.String() != "No changes." {
		t.Fatalf("plan after apply: %+v", p)
	}

	// input is updated in place, not replaced.
	p, err = tf.Plan(ctx, dir, vars(1, "b"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Add != 0 || p.Change != 1 || p.Destroy != 1 || p.String() != "Plan: 0 to add, 1 to change, 1 to destroy." {
		t.Fatalf("plan 2 -> 1 with a new label: %+v", p)
	}

	out, err = tf.Apply(ctx, dir, vars(0, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if exists(0) || exists(1) {
		t.Fatal("apply of count 0 left files behind: destroy provisioners did not run")
	}
	if out["paths"].Value.LengthInt() != 0 {
		t.Errorf("paths after destroy = %#v", out["paths"].Value)
	}
	again, err := tf.Outputs(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := again["n"].Value.AsBigFloat().Int64(); n != 0 {
		t.Errorf("Outputs n = %#v", again["n"].Value)
	}
}

func TestErrors(t *testing.T) {
	tf := terraform(t)
	ctx := context.Background()
	if _, err := tf.Plan(ctx, filepath.Join(t.TempDir(), "missing"), nil); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing dir: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.tf"), []byte(members), 0o644)
	// dir has no default: terraform must say so, not prompt.
	if _, err := tf.Plan(ctx, dir, map[string]cty.Value{"n": cty.NumberIntVal(1)}); err == nil || !strings.Contains(err.Error(), "dir") {
		t.Errorf("missing variable: %v", err)
	}
	if _, err := tf.Plan(ctx, dir, map[string]cty.Value{"dir": cty.UnknownVal(cty.String)}); err == nil || !strings.Contains(err.Error(), "not known") {
		t.Errorf("unknown variable: %v", err)
	}
	if _, err := (&tfrun.Terraform{}).Plan(ctx, dir, nil); err == nil {
		t.Error("no binary: no error")
	}
}
