package executor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor/journal"
)

// lockHelperEnv makes the test binary a lock holder (see lockHelper).
const lockHelperEnv = "NRUN_TEST_LOCK_HELPER"

// lockHelper runs in a re-exec of the test binary. Modes:
//
//	hold    take the lock of $NRUN_TEST_LOCK_DIR, print "held PID", hold
//	        it until stdin closes, release it. With $NRUN_TEST_LOCK_PID
//	        the lock file then records that PID instead of its own (a
//	        holder whose PID means nothing here).
//	nsinit  PID 1 of a new PID namespace: start a "hold" child whose PID
//	        in this namespace is not a live PID of the parent's, as a
//	        holder in another container would be.
//
// It returns the exit code; 3 means "my PID is live on the host, retry".
func lockHelper(mode string) int {
	dir := os.Getenv("NRUN_TEST_LOCK_DIR")
	switch mode {
	case "hold":
		if os.Getenv("NRUN_TEST_LOCK_NS") != "" {
			// /proc is still the parent namespace's mount: a live entry
			// means a host process has the same PID as this holder.
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", os.Getpid())); err == nil {
				return 3
			}
		}
		l, err := AcquireLock(context.Background(), dir, "apply", LockOptions{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if p := os.Getenv("NRUN_TEST_LOCK_PID"); p != "" {
			pid, _ := strconv.Atoi(p)
			l.Info.PID = pid
			if err := rewriteInPlace(l); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		fmt.Printf("held %d\n", os.Getpid())
		io.Copy(io.Discard, os.Stdin)
		if err := l.Release(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "nsinit":
		for try := 0; try < 20000; try++ {
			// Each child takes the next PID of this namespace: burn
			// PIDs until the next one is dead on the host.
			burn := exec.Command("true")
			if err := burn.Run(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			if _, err := os.Stat(fmt.Sprintf("/proc/%d", burn.Process.Pid+1)); err == nil {
				continue
			}
			hold := exec.Command(os.Args[0])
			hold.Env = append(os.Environ(), lockHelperEnv+"=hold", "NRUN_TEST_LOCK_NS=1")
			hold.Stdin, hold.Stdout, hold.Stderr = os.Stdin, os.Stdout, os.Stderr
			err := hold.Run()
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() == 3 {
				continue // a Go runtime thread took the PID first
			}
			if err != nil {
				return 1
			}
			return 0
		}
		fmt.Fprintln(os.Stderr, "found no PID free on the host")
		return 1
	}
	fmt.Fprintf(os.Stderr, "unknown lock helper mode %q\n", mode)
	return 2
}

// rewriteInPlace rewrites the held lock file through the descriptor that
// holds its flock, so the flock stays on the file at its path.
func rewriteInPlace(l *Lock) error {
	data, err := lockJSON(l.Info)
	if err != nil {
		return err
	}
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err = l.f.WriteAt(data, 0)
	return err
}

// holder is a lock helper process holding the lock of a state directory.
type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	pid   int // its PID in its own namespace, as it records it
	done  chan error
}

// startHolder starts a lock helper and returns once it holds the lock.
func startHolder(t *testing.T, stateDir string, sys *syscall.SysProcAttr, env ...string) (*holder, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), "NRUN_TEST_LOCK_DIR="+stateDir), env...)
	cmd.SysProcAttr = sys
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	h := &holder{cmd: cmd, stdin: stdin, done: make(chan error, 1)}
	t.Cleanup(func() { cmd.Process.Kill(); <-h.done })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	go func() { h.done <- cmd.Wait() }()
	if _, serr := fmt.Sscanf(line, "held %d", &h.pid); err != nil || serr != nil {
		t.Fatalf("the lock holder did not report the lock held: %q, %v", line, err)
	}
	return h, nil
}

// release makes the holder release the lock and waits until it exited.
func (h *holder) release(t *testing.T) {
	t.Helper()
	h.stdin.Close()
	if err := <-h.done; err != nil {
		t.Fatalf("lock holder: %v", err)
	}
	h.done <- nil // for the cleanup
}

// deadPID returns the PID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	c := exec.Command("true")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	if processAlive(c.Process.Pid) {
		t.Skipf("PID %d was reused at once", c.Process.Pid)
	}
	return c.Process.Pid
}

func wantHeld(t *testing.T, stateDir string, holderID string) {
	t.Helper()
	stale := false
	_, err := AcquireLock(context.Background(), stateDir, "apply", LockOptions{Stale: func(LockInfo) { stale = true }})
	var le *LockedError
	if !errors.As(err, &le) || !le.Held || stale {
		t.Fatalf("AcquireLock of a lock whose flock is held: %v (stale %v); want a refusal", err, stale)
	}
	for _, want := range []string{holderID, "nrun force-unlock " + holderID, "holds the lock file's flock"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal lacks %q:\n%v", want, err)
		}
	}
	if info, err := ReadLock(stateDir); err != nil || info.ID != holderID {
		t.Fatalf("the lock changed: %+v, %v", info, err)
	}
}

// TestLockHeldDeadPID: a lock file whose PID is dead on this host but
// whose flock another process holds is refused; once the holder releases
// it, it can be taken.
func TestLockHeldDeadPID(t *testing.T) {
	state := filepath.Join(t.TempDir(), ".nrun")
	pid := deadPID(t)
	h, err := startHolder(t, state, nil, lockHelperEnv+"=hold", fmt.Sprintf("NRUN_TEST_LOCK_PID=%d", pid))
	if err != nil {
		t.Fatal(err)
	}
	info, err := ReadLock(state)
	if err != nil || info.PID != pid {
		t.Fatalf("the holder's lock records %+v, %v; want pid %d", info, err, pid)
	}
	wantHeld(t, state, info.ID)
	h.release(t)
	l, err := AcquireLock(context.Background(), state, "apply", LockOptions{})
	if err != nil {
		t.Fatalf("AcquireLock after the holder released: %v", err)
	}
	l.Release()
}

// TestLockPIDNamespace: a holder in another PID namespace records a PID
// that is dead here; the lock is still refused, because it holds the
// flock. (Before, the lock was taken as stale and both runs went ahead.)
func TestLockPIDNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a new PID namespace needs root")
	}
	state := filepath.Join(t.TempDir(), ".nrun")
	h, err := startHolder(t, state, &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}, lockHelperEnv+"=nsinit")
	if err != nil {
		t.Skipf("cannot start a process in a new PID namespace: %v", err)
	}
	info, err := ReadLock(state)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if info.PID != h.pid || info.Host != host || processAlive(info.PID) {
		t.Fatalf("the namespaced holder's lock: %+v; want pid %d, dead here, host %s", info, h.pid, host)
	}
	t.Logf("holder in a new PID namespace records pid %d (host pid %d)", info.PID, h.cmd.Process.Pid)
	wantHeld(t, state, info.ID)
	h.release(t)
	if _, err := AcquireLock(context.Background(), state, "apply", LockOptions{}); err != nil {
		t.Fatalf("AcquireLock after the namespaced holder released: %v", err)
	}
}

// TestLockStale: a holder killed with SIGKILL leaves its lock file, but the
// kernel drops its flock and its PID is gone: the next AcquireLock takes
// it over and records that in the lock history.
func TestLockStale(t *testing.T) {
	state := filepath.Join(t.TempDir(), ".nrun")
	h, err := startHolder(t, state, nil, lockHelperEnv+"=hold")
	if err != nil {
		t.Fatal(err)
	}
	old, _ := ReadLock(state)
	h.cmd.Process.Kill()
	<-h.done
	h.done <- nil
	var stale []LockInfo
	l, err := AcquireLock(context.Background(), state, "apply", LockOptions{Stale: func(i LockInfo) { stale = append(stale, i) }})
	if err != nil {
		t.Fatalf("AcquireLock of a dead holder's lock: %v", err)
	}
	defer l.Release()
	if len(stale) != 1 || stale[0].ID != old.ID {
		t.Fatalf("stale reported %+v; want the lock %s", stale, old.ID)
	}
	evs, err := ReadLockHistory(state)
	if err != nil || len(evs) != 1 || evs[0].Event != "stale-removed" || evs[0].Lock.ID != old.ID || evs[0].Lock.Token != "" {
		t.Fatalf("lock history %+v, %v", evs, err)
	}
}

// TestLockLivePIDNoFlock: a lock file nobody flocks whose PID is alive on
// this host (an older nrun, or a reused PID) is not taken.
func TestLockLivePIDNoFlock(t *testing.T) {
	state := filepath.Join(t.TempDir(), ".nrun")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	info := newLockInfo("apply", filepath.Join(state, LockFile))
	info.PID = os.Getppid()
	data, _ := lockJSON(info)
	if err := os.WriteFile(filepath.Join(state, LockFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := AcquireLock(context.Background(), state, "apply", LockOptions{})
	var le *LockedError
	if !errors.As(err, &le) || le.Held || !strings.Contains(err.Error(), "cannot tell whether the holder is gone") {
		t.Fatalf("AcquireLock: %v; want a refusal", err)
	}
}

// TestLockTimeout: with a timeout, AcquireLock waits for a holder that
// releases in time, and fails naming the holder when it does not.
func TestLockTimeout(t *testing.T) {
	state := filepath.Join(t.TempDir(), ".nrun")
	first, err := AcquireLock(context.Background(), state, "apply", LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("released in time", func(t *testing.T) {
		second, err := AcquireLock(context.Background(), state, "apply", LockOptions{
			Timeout: time.Minute, Poll: 10 * time.Millisecond,
			// Released when the second is known to wait: an event, not
			// a guess at how long it takes to start.
			Waiting: func(*LockedError) { first.Release() },
		})
		if err != nil {
			t.Fatalf("AcquireLock with a timeout: %v", err)
		}
		first = second
	})
	t.Run("not released", func(t *testing.T) {
		t0 := time.Now()
		_, err := AcquireLock(context.Background(), state, "apply", LockOptions{Timeout: 200 * time.Millisecond, Poll: 10 * time.Millisecond})
		var le *LockedError
		if !errors.As(err, &le) || le.Waited < 200*time.Millisecond || time.Since(t0) < 200*time.Millisecond ||
			!strings.Contains(err.Error(), "still locked after waiting") || !strings.Contains(err.Error(), first.Info.ID) {
			t.Fatalf("AcquireLock: %v; want a refusal after 200ms naming %s", err, first.Info.ID)
		}
	})
	first.Release()
}

// TestLockVerify: once the lock is forced, Verify says so and who did it;
// Release then leaves the new holder's lock alone.
func TestLockVerify(t *testing.T) {
	state := filepath.Join(t.TempDir(), ".nrun")
	l, err := AcquireLock(context.Background(), state, "apply", LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.SetRun("run-1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); err != nil {
		t.Fatalf("Verify of a held lock: %v", err)
	}
	// The rewritten lock file is still flocked.
	wantHeld(t, state, l.Info.ID)
	if _, err := ForceUnlock(state, l.Info.ID); err != nil {
		t.Fatal(err)
	}
	err = l.Verify()
	var lost *LockLostError
	if !errors.As(err, &lost) || lost.Forced == nil || lost.Forced.Event != "force-unlock" || lost.Forced.By != whoAmI() ||
		!strings.Contains(err.Error(), "starts nothing new") {
		t.Fatalf("Verify after force-unlock: %v", err)
	}
	other, err := AcquireLock(context.Background(), state, "apply", LockOptions{})
	if err != nil {
		t.Fatalf("AcquireLock after force-unlock: %v", err)
	}
	if err := l.Verify(); !errors.As(err, &lost) || lost.Now == nil || lost.Now.ID != other.Info.ID {
		t.Fatalf("Verify after another took the lock: %v", err)
	}
	l.Release()
	if info, err := ReadLock(state); err != nil || info.ID != other.Info.ID {
		t.Fatalf("the old holder's Release touched the new lock: %+v, %v", info, err)
	}
	other.Release()
}

func lockJSON(info LockInfo) ([]byte, error) {
	return json.MarshalIndent(info, "", "  ")
}

// startApplyLines starts nrun apply in dir and returns a channel of its
// output lines, so a test can wait for what apply says.
func startApplyLines(t *testing.T, dir string, args ...string) (<-chan string, <-chan int) {
	t.Helper()
	cmd := exec.Command(nrunBin, append([]string{"apply"}, args...)...)
	cmd.Dir = dir
	// stdout (progress) and stderr (messages) in one stream, in order.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	stderr := pr
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := make(chan string, 1000)
	code := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		cmd.Wait()
		code <- cmd.ProcessState.ExitCode()
	}()
	return lines, code
}

// waitLine returns the lines up to the first that contains want.
func waitLine(t *testing.T, lines <-chan string, want string) string {
	t.Helper()
	var seen []string
	for l := range lines {
		seen = append(seen, l)
		if strings.Contains(l, want) {
			return strings.Join(seen, "\n")
		}
	}
	t.Fatalf("apply ended without saying %q:\n%s", want, strings.Join(seen, "\n"))
	return ""
}

func drain(lines <-chan string) string {
	var seen []string
	for l := range lines {
		seen = append(seen, l)
	}
	return strings.Join(seen, "\n")
}

// TestApplyLockTimeout: apply -lock-timeout waits for a holder that
// releases within the timeout and then runs; with a short timeout it fails
// naming the holder.
func TestApplyLockTimeout(t *testing.T) {
	dir := writeRunbook(t, quickRunbook)
	state := filepath.Join(dir, ".nrun")
	l, err := AcquireLock(context.Background(), state, "apply", LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lines, code := startApplyLines(t, dir, "-auto-approve", "-lock-timeout=2m", "main.nrun.hcl")
	waitLine(t, lines, "waiting up to 2m0s for it (-lock-timeout)")
	l.Release()
	out := drain(lines)
	if c := <-code; c != 0 || !strings.Contains(out, "1 finished") {
		t.Fatalf("apply after the lock was released: exit %d\n%s", c, out)
	}

	l, err = AcquireLock(context.Background(), state, "apply", LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	t0 := time.Now()
	c, out := runNrun(t, dir, "apply", "-auto-approve", "-lock-timeout=300ms", "main.nrun.hcl")
	if c != 1 || time.Since(t0) < 300*time.Millisecond || !strings.Contains(out, "still locked after waiting") ||
		!strings.Contains(out, "nrun force-unlock "+l.Info.ID) {
		t.Fatalf("apply with a held lock and -lock-timeout=300ms: exit %d after %s\n%s", c, time.Since(t0), out)
	}
	if _, err := os.Stat(filepath.Join(dir, "q.txt")); err != nil {
		t.Fatal("the first apply did not run")
	}
}

const quickRunbook = `
step "q" {
  action "exec" {
    command = ["sh", "-c", "echo q >> q.txt"]
    effect  = "none"
  }
}
`

// TestApplyLockForced: when the lock of a running apply is forced, the
// apply starts nothing new, says why and fails.
func TestApplyLockForced(t *testing.T) {
	dir := writeRunbook(t, slowRunbook)
	lines, code := startApplyLines(t, dir, "-auto-approve", "main.nrun.hcl")
	// step a finished and the sleep started: the run ID is in the lock.
	waitLine(t, lines, "step.wait: sleep")
	info, err := ReadLock(filepath.Join(dir, ".nrun"))
	if err != nil || info.RunID == "" {
		t.Fatalf("lock %+v, %v", info, err)
	}
	if c, out := runNrun(t, dir, "force-unlock", "-force", "-state-dir", ".nrun", info.ID); c != 0 {
		t.Fatalf("force-unlock: exit %d\n%s", c, out)
	}
	out := drain(lines)
	t.Logf("apply after force-unlock:\n%s", out)
	if c := <-code; c != 1 || !strings.Contains(out, "was removed by") || !strings.Contains(out, "starts nothing new") {
		t.Fatalf("apply whose lock was forced: exit %d\n%s", c, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.txt")); err == nil {
		t.Fatal("step b ran after the lock was forced")
	}
}

// TestLockCheckTimer: a lock forced while an action runs halts the run on
// the timer, before that action ends: step a only ends once the run said
// its lock was removed, and step b never starts.
func TestLockCheckTimer(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, `
step "a" {
  action "exec" {
    command = ["sh", "-c", "while [ ! -f go ]; do sleep 0.01; done"]
    effect  = "none"
  }
}
step "b" {
  depends_on = [step.a]
  action "exec" {
    command = ["sh", "-c", "echo b > b.txt"]
    effect  = "none"
  }
}
`)
	cfg := testConfig(t, dir, rb, inputs, p, nil)
	l, err := AcquireLock(context.Background(), cfg.StateDir, "apply", LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	cfg.Lock, cfg.LockCheck = l, 20*time.Millisecond
	var lost []string
	cfg.Events = func(e Event) {
		switch {
		case e.Kind == EventAction && e.Addr == "step.a":
			if _, err := ForceUnlock(cfg.StateDir, l.Info.ID); err != nil {
				t.Error(err)
			}
		case e.Kind == EventInfo && strings.Contains(e.Message, "was removed by"):
			lost = append(lost, e.Message)
			os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) != 1 || ctx.Err() != nil {
		t.Fatalf("lock-lost messages %q (context %v); want one, from the timer", lost, ctx.Err())
	}
	if _, err := os.Stat(filepath.Join(dir, "b.txt")); err == nil || res.Status != journal.StatusFailed {
		t.Fatalf("step b ran or the run did not fail after the lock was forced: %+v", res)
	}
}
