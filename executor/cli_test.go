package executor

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor/journal"
)

const slowRunbook = `
runbook "slow" {}
step "a" {
  action "exec" {
    command = ["sh", "-c", "echo a >> a.txt"]
    check   = ["sh", "-c", "test -s a.txt"]
    effect  = "none"
  }
}
step "wait" {
  depends_on = [step.a]
  action "sleep" {
    duration = "3s"
  }
}
step "b" {
  depends_on = [step.wait]
  action "exec" {
    command = ["sh", "-c", "echo b >> b.txt"]
    effect  = "none"
  }
}
`

func startApply(t *testing.T, dir string, args ...string) (*exec.Cmd, *bytes.Buffer, chan error) {
	t.Helper()
	cmd := exec.Command(nrunBin, append([]string{"apply"}, args...)...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, &out, done
}

// waitFor polls cond every 10ms for up to 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func writeRunbook(t *testing.T, src string) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.nrun.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLockContention(t *testing.T) {
	dir := writeRunbook(t, slowRunbook)
	_, _, done := startApply(t, dir, "-auto-approve", "main.nrun.hcl")
	waitFor(t, "a.txt", func() bool { _, err := os.Stat(filepath.Join(dir, "a.txt")); return err == nil })
	t0 := time.Now()
	code, out := runNrun(t, dir, "apply", "-auto-approve", "main.nrun.hcl")
	if code != 1 || !strings.Contains(out, "locked by another nrun") || !strings.Contains(out, "Operation: apply") ||
		!strings.Contains(out, "PID:") || !strings.Contains(out, "nrun force-unlock ") {
		t.Fatalf("second apply: exit %d\n%s", code, out)
	}
	if took := time.Since(t0); took > 2*time.Second {
		t.Errorf("the second apply took %s to fail; it must fail at once", took)
	}
	info, err := ReadLock(filepath.Join(dir, ".nrun"))
	if err != nil || info.PID == 0 || info.Host == "" || info.Who == "" || info.RunID == "" {
		t.Fatalf("lock info %+v, %v", info, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("first apply: %v", err)
	}
	if _, err := ReadLock(filepath.Join(dir, ".nrun")); !os.IsNotExist(err) {
		t.Fatalf("the lock is still there after the apply ended: %v", err)
	}
}

func TestForceUnlock(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, ".nrun")
	l, err := AcquireLock(context.Background(), state, "apply", LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Our own live process holds it: a second acquire must fail.
	if _, err := AcquireLock(context.Background(), state, "apply", LockOptions{}); err == nil {
		t.Fatal("second AcquireLock succeeded")
	}
	if code, out := runNrun(t, dir, "force-unlock", "-state-dir", state, "wrong-id"); code != 1 || !strings.Contains(out, "not wrong-id") {
		t.Fatalf("force-unlock with a wrong ID: exit %d\n%s", code, out)
	}
	if code, out := runNrun(t, dir, "force-unlock", "-force", "-state-dir", state, l.Info.ID); code != 0 || !strings.Contains(out, "Removed lock "+l.Info.ID) {
		t.Fatalf("force-unlock: exit %d\n%s", code, out)
	}
	if _, err := AcquireLock(context.Background(), state, "apply", LockOptions{}); err != nil {
		t.Fatalf("AcquireLock after force-unlock: %v", err)
	}
}

// TestCtrlC sends SIGINT during a sleep: apply exits 130 at the safe point
// with the resume command, the journal is consistent, and resume finishes
// without running step a again.
func TestCtrlC(t *testing.T) {
	dir := writeRunbook(t, slowRunbook)
	cmd, out, done := startApply(t, dir, "-auto-approve", "main.nrun.hcl")
	waitFor(t, "a.txt", func() bool { _, err := os.Stat(filepath.Join(dir, "a.txt")); return err == nil })
	time.Sleep(100 * time.Millisecond)
	t0 := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	err := <-done
	if took := time.Since(t0); took > 2*time.Second {
		t.Errorf("apply took %s to stop after Ctrl-C during a sleep (a safe point)", took)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit %v, want 130\n%s", err, out)
	}
	if !strings.Contains(out.String(), "nrun apply -resume") {
		t.Errorf("no resume command printed:\n%s", out)
	}
	runs, _ := ListRuns(filepath.Join(dir, ".nrun"))
	if len(runs) != 1 || runs[0].State.End == nil || runs[0].State.End.Status != journal.StatusInterrupted {
		t.Fatalf("journal after Ctrl-C: %+v", runs)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.txt")); err == nil {
		t.Fatal("step b ran after Ctrl-C")
	}
	code, text := runNrun(t, dir, "apply", "-resume", "main.nrun.hcl")
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, text)
	}
	for _, f := range []string{"a.txt", "b.txt"} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		if strings.Count(string(data), "\n") != 1 {
			t.Errorf("%s: %q, want one line", f, data)
		}
	}
}

// TestCtrlCTwice stops at once on the second SIGINT, even inside an exec.
func TestCtrlCTwice(t *testing.T) {
	dir := writeRunbook(t, `
step "long" {
  action "exec" {
    command = ["sh", "-c", "touch started; sleep 20; touch ended"]
    effect  = "none"
  }
}
`)
	cmd, out, done := startApply(t, dir, "-auto-approve", "main.nrun.hcl")
	waitFor(t, "started", func() bool { _, err := os.Stat(filepath.Join(dir, "started")); return err == nil })
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-done:
		t.Fatal("apply stopped on the first Ctrl-C while an exec ran; it must let the action finish")
	case <-time.After(300 * time.Millisecond):
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
			t.Fatalf("exit %v, want 130\n%s", err, out)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("apply did not stop at once on the second Ctrl-C")
	}
	runs, _ := ListRuns(filepath.Join(dir, ".nrun"))
	if len(runs) != 1 || runs[0].State.Instances["step.long"].Phase != journal.PhaseIntent {
		t.Fatalf("journal after a hard stop: %+v", runs[0].State.Instances["step.long"])
	}
}

// TestSIGHUP: a dropped ssh session sends SIGHUP and takes the output
// pipes with it. apply must stop as at a first Ctrl-C: the running exec
// finishes, nothing new starts, the journal ends "interrupted" with no
// step in doubt; and writing to the dead stdout must not kill it
// (SIGPIPE).
func TestSIGHUP(t *testing.T) {
	dir := writeRunbook(t, `
step "long" {
  action "exec" {
    command = ["sh", "-c", "touch started; while [ ! -e go ]; do sleep 0.05; done; echo done"]
    effect  = "none"
  }
}
step "next" {
  depends_on = [step.long]
  action "exec" {
    command = ["touch", "next.txt"]
    effect  = "none"
  }
}
`)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nrunBin, "apply", "-auto-approve", "main.nrun.hcl")
	cmd.Dir = dir
	var stderr syncBuffer
	cmd.Stdout, cmd.Stderr = pw, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	t.Cleanup(func() { cmd.Process.Kill() })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitFor(t, "started", func() bool { _, err := os.Stat(filepath.Join(dir, "started")); return err == nil })
	pr.Close() // the session is gone: stdout is a broken pipe
	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the stop message", func() bool { return strings.Contains(stderr.String(), "stopping") })
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
	select {
	case err := <-done:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
			t.Fatalf("exit %v, want 130\n%s", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("apply did not stop after SIGHUP")
	}
	runs, _ := ListRuns(filepath.Join(dir, ".nrun"))
	if len(runs) != 1 || runs[0].State.End == nil || runs[0].State.End.Status != journal.StatusInterrupted {
		t.Fatalf("journal after SIGHUP: %+v", runs)
	}
	if in := runs[0].State.Instances["step.long"]; in == nil || in.Phase != journal.PhaseFinished {
		t.Fatalf("step.long after SIGHUP: %+v; want finished, not in doubt", in)
	}
	if _, err := os.Stat(filepath.Join(dir, "next.txt")); err == nil {
		t.Fatal("step next started after SIGHUP")
	}
}

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestApprovalPause: without a terminal an approval pauses the run (exit
// 3); resume -approve continues it.
func TestApprovalPause(t *testing.T) {
	dir := writeRunbook(t, `
step "ask" {
  action "approval" {
    message = "restart the servers?"
  }
}
step "after" {
  depends_on = [step.ask]
  action "exec" {
    command = ["sh", "-c", "echo x >> after.txt"]
    effect  = "none"
  }
}
`)
	code, out := runNrun(t, dir, "apply", "-auto-approve", "main.nrun.hcl")
	if code != 3 || !strings.Contains(out, "-approve step.ask") {
		t.Fatalf("apply: exit %d, want 3 with the approve command\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "after.txt")); err == nil {
		t.Fatal("a step after the approval ran before approval")
	}
	code, out = runNrun(t, dir, "apply", "-resume", "main.nrun.hcl")
	if code != 3 {
		t.Fatalf("resume without -approve: exit %d, want 3\n%s", code, out)
	}
	code, out = runNrun(t, dir, "apply", "-resume", "-approve", "step.ask", "main.nrun.hcl")
	if code != 0 {
		t.Fatalf("resume -approve: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "after.txt")); err != nil {
		t.Fatal("the step after the approval did not run")
	}
	code, out = runNrun(t, dir, "status", "-state-dir", ".nrun")
	if code != 0 || !strings.Contains(out, "finished     step.ask") {
		t.Fatalf("status: exit %d\n%s", code, out)
	}
}

// TestSecretsNeverWritten runs steps whose output and failure carry
// NOMAD_TOKEN, CONSUL_HTTP_TOKEN (plain and encoded) and a sensitive
// variable (transformed), and checks that none reaches the journal, the
// audit log or the output.
func TestSecretsNeverWritten(t *testing.T) {
	dir := writeRunbook(t, `
variable "pw" {
  type      = string
  sensitive = true
}
step "show" {
  action "exec" {
    command = ["sh", "-c", "echo nomad=$NOMAD_TOKEN consul=$CONSUL_HTTP_TOKEN; printf %s $NOMAD_TOKEN | base64; echo $NOMAD_TOKEN | tr a-z A-Z; echo err-$NOMAD_TOKEN >&2"]
    effect  = "none"
  }
}
step "fail" {
  depends_on = [step.show]
  on_failure = "continue"
  action "exec" {
    command = ["sh", "-c", "echo failing with ${var.pw} >&2; exit 3"]
    effect  = "none"
  }
}
step "derived" {
  depends_on = [step.show]
  action "exec" {
    command = ["sh", "-c", "echo ${upper(var.pw)} ${strrev(var.pw)} ${replace(var.pw, "-", "_")}; printf %s ${var.pw} | base64", "sh"]
    effect  = "none"
  }
}
step "prog" {
  depends_on = [step.show]
  on_failure = "continue"
  action "exec" {
    command = [var.pw, "arg"]
    effect  = "none"
  }
}
step "guarded" {
  depends_on = [step.show]
  on_failure = "continue"
  precondition {
    condition     = var.pw == "something else"
    error_message = "wrong password ${var.pw} (${upper(var.pw)})"
  }
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
step "ask" {
  depends_on = [step.derived]
  action "approval" {
    message = "rotate ${upper(var.pw)}?"
  }
}
`)
	secrets := []string{"s3cr3t-nomad-token-9f1c", "s3cr3t-consul-token-77ab", "hunter2-sensitive-var",
		"HUNTER2-SENSITIVE-VAR", "hunter2_sensitive_var", "rav-evitisnes-2retnuh", "aHVudGVyMi1zZW5zaXRpdmUtdmFy",
		"S3CR3T-NOMAD-TOKEN-9F1C", "czNjcjN0LW5vbWFkLXRva2VuLTlmMWM"}
	cmd := exec.Command(nrunBin, "apply", "-auto-approve", "-var", "pw="+secrets[2], "main.nrun.hcl")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NOMAD_TOKEN="+secrets[0], "CONSUL_HTTP_TOKEN="+secrets[1])
	out, _ := cmd.CombinedOutput()
	if !strings.Contains(string(out), "nomad="+Redacted) || !strings.Contains(string(out), "step.prog: FAILED: exec: the command (sensitive) was not found") ||
		!strings.Contains(string(out), "approval needed") || !strings.Contains(string(out), "precondition failed") {
		t.Fatalf("the run did not print what it should:\n%s", out)
	}
	var all bytes.Buffer
	all.Write(out)
	filepath.Walk(filepath.Join(dir, ".nrun"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			all.Write(b)
		}
		return nil
	})
	if !strings.Contains(all.String(), "nomad="+Redacted) || !strings.Contains(all.String(), suppressedOutput) {
		t.Fatalf("the audit log lacks the redacted or suppressed output:\n%s", all.String())
	}
	for _, s := range secrets {
		if strings.Contains(all.String(), s) {
			t.Errorf("secret %q leaked:\n%s", s, all.String())
		}
	}
}

// TestNewRunRefusedOverInDoubtRun: after a crash in the middle of an
// action, a new apply refuses and points at -resume.
func TestNewRunRefusedOverInDoubtRun(t *testing.T) {
	dir := writeRunbook(t, `
step "long" {
  action "exec" {
    command = ["sh", "-c", "touch started; sleep 20"]
    effect  = "none"
  }
}
`)
	cmd, _, done := startApply(t, dir, "-auto-approve", "main.nrun.hcl")
	waitFor(t, "started", func() bool { _, err := os.Stat(filepath.Join(dir, "started")); return err == nil })
	cmd.Process.Signal(syscall.SIGKILL)
	<-done
	code, out := runNrun(t, dir, "apply", "-auto-approve", "main.nrun.hcl")
	if code != 1 || !strings.Contains(out, "stopped in the middle of step.long") || !strings.Contains(out, "-resume") {
		t.Fatalf("new apply over an in-doubt run: exit %d\n%s", code, out)
	}
}
