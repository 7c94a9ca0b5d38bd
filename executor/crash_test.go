package executor

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor/journal"
)

// crashRunbook has 22 step instances: exec steps that append one line to
// their own counter file (with a check probe that tells whether the line is
// there), sleeps, and a fan-out, so a kill can land anywhere.
func crashRunbook() string {
	var b strings.Builder
	b.WriteString("runbook \"crash\" {}\n")
	prev := ""
	for i := 1; i <= 8; i++ {
		dep := ""
		if prev != "" {
			dep = fmt.Sprintf("  depends_on = [step.%s]\n", prev)
		}
		fmt.Fprintf(&b, `step "e%d" {
%s  action "exec" {
    command = ["sh", "-c", "echo run >> counts/e%d"]
    check   = ["sh", "-c", "test -s counts/e%d"]
    effect  = "none"
  }
}
step "s%d" {
  depends_on = [step.e%d]
  action "sleep" {
    duration = "30ms"
  }
}
`, i, dep, i, i, i, i)
		prev = fmt.Sprintf("s%d", i)
	}
	fmt.Fprintf(&b, `step "fan" {
  for_each     = toset(["a", "b", "c", "d", "e", "f"])
  max_parallel = 3
  depends_on   = [step.%s]
  action "exec" {
    command = ["sh", "-c", "sleep 0.02; echo run >> counts/fan-${each.key}"]
    check   = ["sh", "-c", "test -s counts/fan-${each.key}"]
    effect  = "none"
  }
}
`, prev)
	return b.String()
}

func runNrun(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(nrunBin, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String()
}

// TestCrashResume kills `nrun apply` with SIGKILL at a random moment, then
// resumes, many times: every run must finish, and no exec with a side
// effect may run twice or be skipped.
func TestCrashResume(t *testing.T) {
	iterations := 20
	if testing.Short() {
		iterations = 5
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	// Time one uninterrupted run, so the kills land inside the run.
	full := t.TempDir()
	os.Mkdir(filepath.Join(full, "counts"), 0o755)
	os.WriteFile(filepath.Join(full, "main.nrun.hcl"), []byte(crashRunbook()), 0o644)
	t0 := time.Now()
	if code, text := runNrun(t, full, "apply", "-auto-approve", "main.nrun.hcl"); code != 0 {
		t.Fatalf("uninterrupted run: exit %d\n%s", code, text)
	}
	span := time.Since(t0)
	t.Logf("an uninterrupted run takes %s", span)
	killedInside, probes := 0, 0
	for it := 0; it < iterations; it++ {
		dir := t.TempDir()
		os.Mkdir(filepath.Join(dir, "counts"), 0o755)
		if err := os.WriteFile(filepath.Join(dir, "main.nrun.hcl"), []byte(crashRunbook()), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(nrunBin, "apply", "-auto-approve", "main.nrun.hcl")
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int63n(int64(span)))
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			killedInside++
		case <-exited:
		}
		// Resume until finished; a kill before the journal header
		// leaves nothing to resume, and then a new apply starts over.
		finished := false
		for attempt := 0; attempt < 3 && !finished; attempt++ {
			code, text := runNrun(t, dir, "apply", "-resume", "main.nrun.hcl")
			switch {
			case code == 0:
				finished = true
			case strings.Contains(text, "no unfinished run"):
				if code, text = runNrun(t, dir, "apply", "-auto-approve", "main.nrun.hcl"); code != 0 {
					t.Fatalf("iteration %d: fresh apply after an early kill: exit %d\n%s", it, code, text)
				}
				finished = true
			default:
				t.Fatalf("iteration %d (killed after %s): resume exit %d\n%s\nfirst run:\n%s", it, delay, code, text, out.String())
			}
		}
		var names []string
		for i := 1; i <= 8; i++ {
			names = append(names, fmt.Sprintf("e%d", i))
		}
		for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
			names = append(names, "fan-"+k)
		}
		for _, n := range names {
			data, err := os.ReadFile(filepath.Join(dir, "counts", n))
			if err != nil {
				t.Fatalf("iteration %d (killed after %s): %s never ran: %v", it, delay, n, err)
			}
			if c := strings.Count(string(data), "run"); c != 1 {
				t.Fatalf("iteration %d (killed after %s): %s ran %d times", it, delay, n, c)
			}
		}
		if runs, _ := ListRuns(filepath.Join(dir, ".nrun")); len(runs) > 0 {
			recs, _ := journal.Read(filepath.Join(runs[len(runs)-1].Dir, journal.FileName))
			for _, r := range recs {
				if r.Kind == journal.KindProbe {
					probes++
				}
			}
		}
		if code, text := runNrun(t, dir, "status", "-state-dir", ".nrun"); code != 0 {
			t.Fatalf("iteration %d: status after resume: exit %d\n%s", it, code, text)
		}
	}
	t.Logf("%d iterations, %d killed mid-run, %d in-doubt actions settled by their probe", iterations, killedInside, probes)
}
