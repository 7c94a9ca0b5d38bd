package executor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Outputs are evaluated in the run's scope once it finished: step outputs
// are what the steps printed; a sensitive output has no value; a value
// that holds a secret is redacted. (A step whose command uses a sensitive
// variable has a sensitive output, so here the secret reaches the
// output the way a token does: from the environment, printed by a
// command that does not name it.)
func TestRunOutputs(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
variable "pw" {
  type      = string
  sensitive = true
}
step "a" {
  action "exec" {
    command = ["sh", "-c", "echo hello; echo token=$NRUN_TEST_TOKEN"]
    effect  = "none"
  }
}
output "greeting" {
  value = trimspace(split("\n", step.a.output)[0])
}
output "printed" {
  value = step.a.output
}
output "pw" {
  value     = var.pw
  sensitive = true
}
`, "pw=hunter2")
	ev := &eventLog{}
	cfg := testConfig(t, dir, rb, inputs, p, ev)
	cfg.Env = []string{"NRUN_TEST_TOKEN=hunter2"}
	cfg.Secrets = []string{"hunter2"}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Outputs) != 3 {
		t.Fatalf("outputs %+v", res.Outputs)
	}
	if o := res.Outputs[0]; o.Name != "greeting" || o.Text != `"hello"` || string(o.Value) != `"hello"` {
		t.Errorf("greeting = %+v", o)
	}
	if o := res.Outputs[1]; strings.Contains(o.Text, "hunter2") || o.Value != nil || !strings.Contains(o.Text, "token=") {
		t.Errorf("printed = %+v (the secret must be redacted and the JSON value dropped)", o)
	}
	if o := res.Outputs[2]; !o.Sensitive || o.Text != SensitiveText || o.Value != nil {
		t.Errorf("pw = %+v", o)
	}
	var n int
	for i, e := range ev.ev {
		if e.Kind == EventOutputs {
			n++
			if i+1 >= len(ev.ev) || ev.ev[i+1].Kind != EventRunEnd || len(e.Outputs) != 3 {
				t.Errorf("the outputs event must come just before run_end with every output: %+v", e)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d outputs events, want 1", n)
	}
}

// A NUL byte known only at run time (a step's output) fails the exec
// before its command runs, with an error that says what to do.
func TestExecRefusesNULFromStepOutput(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "a" {
  action "exec" {
    command = ["printf", "x\\000y"]
    effect  = "none"
  }
}
step "b" {
  depends_on = [step.a]
  action "exec" {
    command = ["sh", "-c", "touch ran", step.a.output]
    effect  = "none"
  }
}
`)
	ev := &eventLog{}
	res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, ev))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 1 || res.Failed[0] != "step.b" {
		t.Fatalf("result %+v", res)
	}
	found := false
	for _, e := range ev.ev {
		found = found || e.Kind == EventFailed && strings.Contains(e.Message, "element 3 contains a NUL byte")
	}
	if !found {
		t.Errorf("no failure naming the NUL byte: %+v", ev.ev)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("the command ran")
	}
	if res.Outputs != nil {
		t.Errorf("a failed run shows no outputs: %+v", res.Outputs)
	}
}
