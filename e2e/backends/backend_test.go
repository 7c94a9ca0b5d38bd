package backends

import (
	"bytes"
	"fmt"
	"github.com/nrun-dev/nrun/e2e/e2etest"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// Short lock settings for the backend tests (the stores refuse a TTL
// under 10s).
const (
	testLockTTL   = 10 * time.Second
	testLockDelay = 2 * time.Second
)

// backendEnv is one test's directory on the package's backend sandbox: a
// Nomad server and a Consul server, shared by the backend tests (each
// uses its own backend path).
func backendEnv(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sandboxtest.Timer(t)
	sb := sandboxtest.Shared(t, "backend", sandbox.Spec{Servers: []sandbox.ServerSpec{{Name: "bk1"}}, ConsulServers: 1})
	e := &env{&e2etest.Env{T: t, SB: sb, Dir: t.TempDir(), Vars: map[string]string{
		"NRUN_BACKEND_LOCK_TTL":   testLockTTL.String(),
		"NRUN_BACKEND_LOCK_DELAY": testLockDelay.String(),
		"NRUN_HEARTBEAT":          "0",
	}}}
	return e
}

// counterRunbook writes a runbook of n exec steps in a chain; each
// appends its name to count (a line per run of the step) and sleeps, and
// its check command tells whether it ran (the resume probe).
func counterRunbook(t *testing.T, dir, name string, n int, sleep string) (path, count string) {
	t.Helper()
	count = filepath.Join(dir, "count")
	var b strings.Builder
	fmt.Fprintf(&b, "runbook %q {}\n", name)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "step \"s%d\" {\n", i)
		if i > 1 {
			fmt.Fprintf(&b, "  depends_on = [step.s%d]\n", i-1)
		}
		fmt.Fprintf(&b, "  action \"exec\" {\n    command = [\"sh\", \"-c\", \"echo s%d >> %s; sleep %s\"]\n    check = [\"grep\", \"-qx\", \"s%d\", %q]\n    effect = \"none\"\n  }\n}\n", i, count, sleep, i, count)
	}
	path = filepath.Join(dir, name+".nrun.hcl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, count
}

// counts reads the count file: how often each step ran.
func counts(t *testing.T, path string) map[string]int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, l := range strings.Fields(string(data)) {
		m[l]++
	}
	return m
}

// checkOnce fails unless each of the n steps ran exactly once.
func checkOnce(t *testing.T, count string, n int) {
	t.Helper()
	m := counts(t, count)
	for i := 1; i <= n; i++ {
		if c := m[fmt.Sprintf("s%d", i)]; c != 1 {
			t.Errorf("step s%d ran %d times, want exactly once (counts %v)", i, c, m)
		}
	}
}

// started is a running nrun.
type started struct {
	cmd            *exec.Cmd
	Stdout, Stderr *bytes.Buffer
	done           chan struct{}
	Code           int
}

func (e *env) start(args ...string) *started {
	e.T.Helper()
	cmd := exec.Command(e2etest.NrunBin, args...)
	cmd.Dir, cmd.Env = e.Dir, e.Environ()
	s := &started{cmd: cmd, Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.Stdout, s.Stderr
	if err := cmd.Start(); err != nil {
		e.T.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		s.Code = 0
		if ee, ok := err.(*exec.ExitError); ok {
			s.Code = ee.ExitCode()
		}
		close(s.done)
	}()
	e.T.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		<-s.done
	})
	return s
}

func (s *started) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-s.done:
		return s.Code
	case <-time.After(timeout):
		t.Fatalf("nrun %v still runs after %s\n--- stderr\n%s", s.cmd.Args, timeout, s.Stderr)
	}
	return -1
}

// waitLines waits until the count file has at least n lines, failing
// with p's output when p ends first.
func waitLines(t *testing.T, p *started, count string, n int, timeout time.Duration) {
	t.Helper()
	e2etest.Eventually(t, fmt.Sprintf("%d steps ran", n), timeout, func() (bool, string) {
		c := 0
		for _, v := range counts(t, count) {
			c += v
		}
		if c < n && p.exited() {
			t.Fatalf("nrun %v ended (exit %d) before %d steps ran:\n%s", p.cmd.Args[1:], p.Code, n, p.Stderr)
		}
		return c >= n, fmt.Sprintf("%d ran; stderr so far:\n%s", c, p.Stderr)
	})
}

func (s *started) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

var backendKinds = []string{"nomad", "consul"}

// startHolder starts an apply, from state directory a, of a counter
// runbook of n steps (each pausing pause seconds) with kind's backend, and
// returns once ran steps have run: the apply then holds the lock.
func startHolder(t *testing.T, kind, name string, n int, pause string, ran int) (e *env, rb, count string, a *started) {
	t.Helper()
	e = backendEnv(t)
	rb, count = counterRunbook(t, e.Dir, name, n, pause)
	a = e.start("apply", "-auto-approve", "-backend="+kind, "-state-dir", filepath.Join(e.Dir, "a"), rb)
	waitLines(t, a, count, ran, 60*time.Second)
	return e, rb, count, a
}

// Two applies of one runbook from two state directories: one runs, the
// other exits 1 within seconds naming the holder.
func TestBackendSecondApplyRefused(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			const n = 12
			e, rb, count, a := startHolder(t, kind, "two-"+kind, n, "0.2", 1)
			start := time.Now()
			b := e.Nrun("apply", "-auto-approve", "-backend="+kind, "-state-dir", filepath.Join(e.Dir, "b"), rb)
			took := time.Since(start)
			if b.Code != 1 {
				t.Fatalf("second apply: want exit 1\n%s", b)
			}
			t.Logf("refused after %s:\n%s", took, b.Stderr)
			if took > 10*time.Second {
				t.Errorf("second apply took %s to refuse; want seconds", took)
			}
			if want := fmt.Sprintf("pid %d", a.cmd.Process.Pid); !strings.Contains(b.Stderr, want) || !strings.Contains(b.Stderr, "locked in") {
				t.Errorf("second apply does not name the holder (%s):\n%s", want, b.Stderr)
			}
			if code := a.wait(t, 2*time.Minute); code != 0 {
				t.Fatalf("first apply: exit %d\n%s", code, a.Stderr)
			}
			checkOnce(t, count, n)
			st := e.Nrun("runs", "-backend="+kind, rb)
			t.Logf("%s", st.Stdout)
			if st.Code != 0 || !strings.Contains(st.Stdout, "finished") {
				t.Errorf("nrun runs:\n%s", st)
			}
		})
	}
}

// kill -9 of an apply at random moments, each time resumed from a fresh,
// empty state directory with the same backend: every step runs once.
func TestBackendKillResumeAnywhere(t *testing.T) {
	kills := 2
	if v := os.Getenv("NRUN_TEST_KILLS"); v != "" {
		fmt.Sscan(v, &kills)
	}
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			e := backendEnv(t)
			seed := time.Now().UnixNano()
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewSource(seed))
			n := max(15, 3*kills) // enough steps to kill it kills times
			rb, count := counterRunbook(t, e.Dir, "kill-"+kind, n, "0.3")
			args := []string{"apply", "-auto-approve", "-backend=" + kind, "-lock-timeout=90s"}
			p := e.start(append(args, "-state-dir", filepath.Join(e.Dir, "st0"), rb)...)
			for k := 1; k <= kills; k++ {
				// Kill once the run made progress, at a random moment
				// after that.
				ran := 0
				for _, v := range counts(t, count) {
					ran += v
				}
				if ran >= n-1 {
					break // the run is (about to be) over
				}
				waitLines(t, p, count, ran+1, 2*time.Minute)
				delay := time.Duration(rng.Int63n(int64(900 * time.Millisecond)))
				select {
				case <-p.done:
				case <-time.After(delay):
				}
				p.cmd.Process.Signal(syscall.SIGKILL)
				<-p.done
				t.Logf("kill %d after %s: counts %v", k, delay, counts(t, count))
				p = e.start(append(args, "-resume", "-state-dir", filepath.Join(e.Dir, fmt.Sprintf("st%d", k)), rb)...)
			}
			if code := p.wait(t, 3*time.Minute); code != 0 {
				t.Fatalf("last resume: exit %d\n%s", code, p.Stderr)
			}
			checkOnce(t, count, n)
		})
	}
}

// The holder frozen past its TTL: another apply takes the lock only
// after TTL plus lock delay; the frozen one, continued, starts nothing
// new and exits 3.
func TestBackendFrozenHolder(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			const n = 10
			e, rb, count, a := startHolder(t, kind, "frozen-"+kind, n, "0.5", 2)
			a.cmd.Process.Signal(syscall.SIGSTOP)
			stopped := time.Now()
			before := len(counts(t, count))
			b := e.start("apply", "-auto-approve", "-resume", "-backend="+kind, "-lock-timeout=90s", "-state-dir", filepath.Join(e.Dir, "b"), rb)
			// The next step B starts is after it took the lock.
			waitLines(t, b, count, before+1, 90*time.Second)
			took := time.Since(stopped)
			t.Logf("lock taken over %s after the holder froze", took)
			if min := testLockTTL + testLockDelay - testLockTTL/3; took < min {
				t.Errorf("the lock was taken %s after the holder froze; want at least TTL + lock delay - one renewal interval (%s)", took, min)
			}
			a.cmd.Process.Signal(syscall.SIGCONT)
			cont := time.Now()
			code := a.wait(t, 60*time.Second)
			t.Logf("the frozen apply stopped %s after it was continued", time.Since(cont).Round(time.Millisecond))
			if code != 3 {
				t.Errorf("the frozen apply: exit %d, want 3\n%s", code, a.Stderr)
			}
			if !strings.Contains(a.Stderr.String(), "lost") {
				t.Errorf("the frozen apply does not say its lock was lost:\n%s", a.Stderr)
			}
			if code := b.wait(t, 2*time.Minute); code != 0 {
				t.Fatalf("the second apply: exit %d\n%s", code, b.Stderr)
			}
			checkOnce(t, count, n)
		})
	}
}

var lockIDRE = regexp.MustCompile(`lock ([0-9a-f-]{36})`)

// force-unlock of a running apply's backend lock: the holder stops with
// exit 3 at its next renewal, and the run is resumed from another
// directory; status reads the run from the backend.
func TestBackendForceUnlock(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			const n = 10
			e, rb, count, a := startHolder(t, kind, "force-"+kind, n, "0.5", 1)
			runs := e.MustNrun("runs", "-backend="+kind, rb)
			m := lockIDRE.FindStringSubmatch(runs.Stdout)
			if m == nil {
				t.Fatalf("nrun runs does not show the lock:\n%s", runs)
			}
			fu := e.MustNrun("force-unlock", "-backend="+kind, "-runbook", rb, "-force", m[1])
			forced := time.Now()
			t.Logf("%s", fu.Stdout)
			if code := a.wait(t, 30*time.Second); code != 3 {
				t.Errorf("the forced apply: exit %d, want 3\n%s", code, a.Stderr)
			}
			t.Logf("the forced apply stopped %s after force-unlock", time.Since(forced).Round(time.Millisecond))
			if st := e.Nrun("status", "-backend="+kind, rb); st.Code != 2 {
				t.Errorf("status of the stopped run: want exit 2 (unfinished)\n%s", st)
			}
			b := e.Nrun("apply", "-auto-approve", "-resume", "-backend="+kind, "-lock-timeout=60s", "-state-dir", filepath.Join(e.Dir, "b"), rb)
			if b.Code != 0 {
				t.Fatalf("resume: %s", b)
			}
			checkOnce(t, count, n)
			if st := e.Nrun("status", "-backend="+kind, rb); st.Code != 0 {
				t.Errorf("status of the finished run: want exit 0\n%s", st)
			}
		})
	}
}

// The sandbox's rolling upgrade with its state in a backend: with consul
// (the cluster the runbook does not change) and with nomad (the one it
// changes: every write rides through the leadership transfer and each
// server's restart), the run finishes and the backend shows it finished.
func TestBackendRollingUpgrade(t *testing.T) {
	for _, kind := range backendKinds {
		t.Run(kind, func(t *testing.T) {
			qs, sbDir := e2etest.QuickStartEnv(t)
			e := &env{qs}
			r := e.Nrun("apply", "-sandbox", "-auto-approve", "-backend="+kind, "runbooks/nomad-server-rolling-upgrade.nrun.hcl")
			t.Logf("apply -sandbox -backend=%s took %s", kind, r.Took.Round(time.Millisecond))
			if r.Code != 0 || !strings.Contains(r.Stdout+r.Stderr, "finished. 11 finished, 0 failed") {
				t.Fatalf("%s", r)
			}
			if kind == "nomad" && !strings.Contains(r.Stderr, "in the cluster this runbook changes") {
				t.Errorf("apply does not warn that the nomad backend is the cluster it changes:\n%s", r.Stderr)
			}
			if kind == "consul" && strings.Contains(r.Stderr, "in the cluster this runbook changes") {
				t.Errorf("apply warns about the consul backend, which the runbook does not change:\n%s", r.Stderr)
			}
			c, err := sandbox.Open(sbDir, sandbox.Options{})
			if err != nil {
				t.Fatal(err)
			}
			e.SB = c
			runs := e.Nrun("runs", "-backend="+kind, "runbooks/nomad-server-rolling-upgrade.nrun.hcl")
			if runs.Code != 0 || !strings.Contains(runs.Stdout, "finished") || !regexp.MustCompile(`finished .* [0-9]+/0/0\n`).MatchString(runs.Stdout) {
				t.Errorf("nrun runs:\n%s", runs)
			}
		})
	}
}
