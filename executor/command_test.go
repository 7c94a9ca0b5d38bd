package executor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor/journal"
)

// TestExecLongLine: a single 3 MiB line (a JSON document from curl, say)
// must not stop the reader, so the command cannot block on its pipe; the
// run log holds the line whole and events carry it in bounded pieces.
func TestExecLongLine(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "big" {
  action "exec" {
    command = ["sh", "-c", "head -c 3145728 /dev/zero | tr '\\0' 'a'; echo; echo after"]
    effect  = "none"
  }
}
`)
	ev := &eventLog{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, testConfig(t, dir, rb, inputs, p, ev))
	if err != nil || res.Status != journal.StatusFinished {
		t.Fatalf("%v %+v", err, res)
	}
	log, _ := os.ReadFile(filepath.Join(res.RunDir, LogFile))
	if !strings.Contains(string(log), "stdout| "+strings.Repeat("a", 3<<20)+"\n") {
		t.Error("run.log does not hold the 3 MiB line whole")
	}
	if !strings.Contains(string(log), "stdout| after\n") {
		t.Error("run.log lacks the line after the long one")
	}
	total := 0
	for _, e := range ev.ev {
		if e.Kind != EventOutput {
			continue
		}
		if len(e.Message) > outputChunk+64 {
			t.Fatalf("an output event of %d bytes; want pieces of about %d", len(e.Message), outputChunk)
		}
		if strings.Trim(e.Message, "a") == "" {
			total += len(e.Message)
		}
	}
	if total != 3<<20 {
		t.Errorf("events carry %d of the %d bytes", total, 3<<20)
	}
}

// TestExecOutputCap: step.NAME.output keeps at most OutputCap bytes; past
// that it is not published, and a step that uses it fails naming it
// instead of running on a cut value.
func TestExecOutputCap(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "big" {
  action "exec" {
    command = ["sh", "-c", "yes 0123456789abcdef | head -c 5000000"]
    effect  = "none"
  }
}
step "use" {
  depends_on = [step.big]
  action "exec" {
    command = ["sh", "-c", "echo ${strlen(step.big.output)} > used.txt"]
    effect  = "none"
  }
}
`)
	ev := &eventLog{}
	res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, ev))
	if err != nil || res.Status != journal.StatusFailed || len(res.Failed) != 1 || res.Failed[0] != "step.use" {
		t.Fatalf("%v %+v", err, res)
	}
	if _, err := os.Stat(filepath.Join(dir, "used.txt")); err == nil {
		t.Error("a step ran on a truncated step.big.output")
	}
	var msg string
	for _, e := range ev.ev {
		if e.Kind == EventFailed {
			msg = e.Message
		}
	}
	if !strings.Contains(msg, "step.big.output") || !strings.Contains(msg, "run.log") {
		t.Errorf("the failure does not name the truncated output: %q", msg)
	}
}

func TestCmdOutputBounded(t *testing.T) {
	o := &cmdOutput{}
	line := []byte(strings.Repeat("x", 999) + "\n")
	// 300 MB through the buffer: what it holds stays under the cap.
	for i := 0; i < 300_000; i++ {
		o.keepStdout(line)
		o.addTail(string(line))
		if len(o.stdout) > OutputCap || len(o.tail) > tailLines {
			t.Fatalf("after %d lines the buffer holds %d bytes and %d tail lines", i, len(o.stdout), len(o.tail))
		}
	}
	if !o.truncated || o.stdout != nil {
		t.Fatalf("truncated %v, %d bytes kept", o.truncated, len(o.stdout))
	}
}

// TestExecTimeoutIgnoresTerm: a command that ignores SIGTERM is killed
// killGrace after its timeout.
func TestExecTimeoutIgnoresTerm(t *testing.T) {
	defer func(g time.Duration) { killGrace = g }(killGrace)
	killGrace = 300 * time.Millisecond
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "stubborn" {
  action "exec" {
    command = ["sh", "-c", "trap '' TERM; sleep 30; touch done"]
    timeout = "200ms"
    effect  = "none"
  }
}
`)
	ev := &eventLog{}
	t0 := time.Now()
	res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, ev))
	took := time.Since(t0)
	if err != nil || res.Status != journal.StatusFailed {
		t.Fatalf("%v %+v", err, res)
	}
	if took < 500*time.Millisecond || took > 10*time.Second {
		t.Errorf("the run took %s; want the timeout (200ms) plus the grace (300ms), not much more", took)
	}
	var msg string
	for _, e := range ev.ev {
		if e.Kind == EventFailed {
			msg = e.Message
		}
	}
	if !strings.Contains(msg, "timed out after 200ms") {
		t.Errorf("failure %q does not say the command timed out", msg)
	}
}

// TestExecBackgroundHoldsPipes: a process left in the background with the
// command's stdout must not hold the run once the command exited.
func TestExecBackgroundHoldsPipes(t *testing.T) {
	defer func(g time.Duration) { pipeGrace = g }(pipeGrace)
	pipeGrace = 100 * time.Millisecond
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "bg" {
  action "exec" {
    command = ["sh", "-c", "sleep 20 & echo started"]
    effect  = "none"
  }
}
`)
	t0 := time.Now()
	res, err := Run(context.Background(), testConfig(t, dir, rb, inputs, p, nil))
	if err != nil || res.Status != journal.StatusFinished {
		t.Fatalf("%v %+v", err, res)
	}
	if took := time.Since(t0); took > 10*time.Second {
		t.Errorf("the run took %s: the background process held it", took)
	}
}
