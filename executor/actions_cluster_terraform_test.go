package executor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/tfrun"
)

// greetTF has one terraform_data resource whose input comes from a
// variable, and outputs it.
const greetTF = `
variable "name" {
  type = string
}
resource "terraform_data" "greet" {
  input = "hello ${var.name}"
}
output "greeting" {
  value = terraform_data.greet.output
}
`

const tfRunbook = `
terraform "infra" {
  dir = "./infra"
}
step "tf" {
  action "terraform_apply" {
    terraform = terraform.infra
    vars      = { name = "nrun" }
  }
}
step "use" {
  depends_on = [step.tf]
  action "exec" {
    command = ["sh", "-c", "echo \"$G\" > greeting"]
    env     = { G = step.tf.output.greeting }
    effect  = "none"
  }
}
`

func tfDir(t *testing.T) string {
	t.Helper()
	if _, err := tfrun.Find(); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "infra"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "infra", "main.tf"), []byte(greetTF), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTerraformApplyAction applies a directory through the executor; its
// output reaches a later step as step.tf.output. A resumed run whose apply
// was in doubt sees no changes in the plan and does not apply again, and
// still gives the later step the outputs.
func TestTerraformApplyAction(t *testing.T) {
	dir := tfDir(t)
	rb, inputs, p := planFor(t, dir, tfRunbook)
	ev := &eventLog{}
	res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, ev))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != journal.StatusFinished {
		t.Fatalf("%+v\n%s", res, runLog(res))
	}
	got, err := os.ReadFile(filepath.Join(dir, "greeting"))
	if err != nil || strings.TrimSpace(string(got)) != "hello nrun" {
		t.Fatalf("greeting %q %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "infra", "terraform.tfstate")); err != nil {
		t.Fatalf("no state after the apply: %v", err)
	}

	// In doubt, with the apply already in place: probe done.
	os.Remove(filepath.Join(dir, "greeting"))
	cfg := testConfig(t, dir, rb, inputs, p, nil)
	cfg.StateDir = filepath.Join(dir, ".nrun2")
	probe, reran, res := runInDoubt(t, cfg, "step.tf", "terraform_apply")
	if res.Status != journal.StatusFinished || probe.Status != string(probeDone) || reran {
		t.Fatalf("apply in doubt: probe %+v reran %v %+v\n%s", probe, reran, res, runLog(res))
	}
	got, err = os.ReadFile(filepath.Join(dir, "greeting"))
	if err != nil || strings.TrimSpace(string(got)) != "hello nrun" {
		t.Fatalf("after the probe, greeting %q %v", got, err)
	}

	// In doubt, with a change pending: probe redo, and the apply runs.
	rb2, inputs2, p2 := planFor(t, dir, strings.Replace(tfRunbook, `name = "nrun"`, `name = "again"`, 1))
	cfg = testConfig(t, dir, rb2, inputs2, p2, nil)
	cfg.StateDir = filepath.Join(dir, ".nrun3")
	probe, reran, res = runInDoubt(t, cfg, "step.tf", "terraform_apply")
	if res.Status != journal.StatusFinished || probe.Status != string(probeRedo) || !reran {
		t.Fatalf("changed apply in doubt: probe %+v reran %v %+v\n%s", probe, reran, res, runLog(res))
	}
	got, _ = os.ReadFile(filepath.Join(dir, "greeting"))
	if strings.TrimSpace(string(got)) != "hello again" {
		t.Fatalf("after the redone apply, greeting %q", got)
	}
}

// TestTerraformApplyMissingDir: an apply of a directory that does not
// exist fails the step with a message naming the directory.
func TestTerraformApplyMissingDir(t *testing.T) {
	dir := tfDir(t)
	os.RemoveAll(filepath.Join(dir, "infra"))
	rb, inputs, p := planFor(t, dir, tfRunbook)
	ev := &eventLog{}
	res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, ev))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range ev.ev {
		if e.Kind == EventFailed && strings.Contains(e.Message, filepath.Join(dir, "infra")) && strings.Contains(e.Message, "does not exist") {
			found = true
		}
	}
	if res.Status != journal.StatusFailed || !found {
		t.Fatalf("%+v %+v", res, ev.ev)
	}
}
