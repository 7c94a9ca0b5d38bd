package e2etest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// NrunBin is the nrun binary built once for every test. Its directory is
// first on the PATH of every nrun the tests run, so the runbooks' exec
// steps (`nrun sandbox server stop ...`) find it.
var NrunBin string

// Main builds nrun into a temporary directory, runs the tests and exits
// with their code. Call it from the package's TestMain.
func Main(m *testing.M) {
	dir, err := os.MkdirTemp("", "nrun-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if NrunBin, err = sandboxtest.BuildNrun(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := sandboxtest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// RunbooksDir is the repository's runbooks/ directory, absolute.
func RunbooksDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "runbooks")
}

// RepoRoot is the repository's root: the nearest directory above the
// test's working directory (its package directory) that holds go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		up := filepath.Dir(d)
		if up == d {
			t.Fatal("no go.mod above the test's directory")
		}
		d = up
	}
}

// Env is one test's fresh sandbox and the environment nrun runs in.
type Env struct {
	T  testing.TB
	SB *sandbox.Cluster
	// Dir is the working directory of every nrun run: plan files,
	// snapshots and the .nrun state directory land here.
	Dir string
	// Vars are extra KEY=value environment entries, overriding the
	// sandbox's own (for example NOMAD_ADDR pointing at a client agent).
	Vars map[string]string
}

// NewEnv starts a fresh sandbox from spec for t (stopped when t ends).
// NOMAD_ADDR points at the first client agent when there is one: clients
// forward to whichever server leads, so the address survives any one
// server going down during a rolling procedure.
func NewEnv(t testing.TB, spec sandbox.Spec) *Env {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sandboxtest.Timer(t)
	sb := sandboxtest.New(t, spec)
	e := &Env{T: t, SB: sb, Dir: t.TempDir(), Vars: map[string]string{}}
	for _, a := range sb.Agents() {
		if a.Kind == sandbox.NomadClient {
			e.Vars["NOMAD_ADDR"] = "http://" + a.HTTPAddr()
			break
		}
	}
	return e
}

// environ is the environment of an nrun run: the test's own, minus any
// NOMAD_/CONSUL_ settings of the developer's shell, plus the sandbox's,
// plus e.Vars, with NrunBin's directory first on PATH.
func (e *Env) Environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "NOMAD_") || strings.HasPrefix(k, "CONSUL_") || k == "NRUN_SANDBOX_DIR" || k == "PATH" {
			continue
		}
		out = append(out, kv)
	}
	out = append(out, "PATH="+filepath.Dir(NrunBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if e.SB != nil {
		out = append(out, e.SB.Env()...)
	}
	for k, v := range e.Vars {
		out = append(out, k+"="+v)
	}
	return out
}

// Result is one finished nrun run.
type Result struct {
	Args           []string
	Code           int
	Stdout, Stderr string
	Took           time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("nrun %s: exit %d after %s\n--- stdout\n%s--- stderr\n%s", strings.Join(r.Args, " "), r.Code, r.Took.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// nrun runs the nrun binary in e.Dir and returns how it ended.
func (e *Env) Nrun(args ...string) Result {
	e.T.Helper()
	cmd := exec.Command(NrunBin, args...)
	cmd.Dir, cmd.Env = e.Dir, e.Environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := Result{Args: args, Stdout: stdout.String(), Stderr: stderr.String(), Took: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.Code = ee.ExitCode()
	} else if err != nil {
		e.T.Fatalf("run nrun: %v", err)
	}
	return r
}

// mustNrun runs nrun and fails the test unless it exits 0.
func (e *Env) MustNrun(args ...string) Result {
	e.T.Helper()
	r := e.Nrun(args...)
	if r.Code != 0 {
		e.T.Fatalf("%s", r)
	}
	return r
}

// nomad returns an API client for the sandbox (through NOMAD_ADDR).
func (e *Env) Nomad() *nomad.Client {
	e.T.Helper()
	cfg := nomad.DefaultConfig()
	cfg.Address = e.Vars["NOMAD_ADDR"]
	if cfg.Address == "" {
		c, err := e.SB.NomadClient()
		if err != nil {
			e.T.Fatal(err)
		}
		return c
	}
	cfg.Region = "global"
	c, err := nomad.NewClient(cfg)
	if err != nil {
		e.T.Fatal(err)
	}
	return c
}

// Eventually polls cond every 250ms until it holds or timeout passes.
func Eventually(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %s: %s", what, timeout, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// registerJob has the servers parse the jobspec at path with vars,
// registers it and waits until count allocations of it run.
func (e *Env) RegisterJob(path string, vars map[string]string, count int) *nomad.Job {
	e.T.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		e.T.Fatal(err)
	}
	c := e.Nomad()
	job, err := c.Jobs().ParseHCLOpts(&nomad.JobsParseRequest{JobHCL: string(src), Variables: HCLVars(vars)})
	if err != nil {
		e.T.Fatalf("parse %s: %v", path, err)
	}
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		e.T.Fatalf("register %s: %v", *job.ID, err)
	}
	e.WaitRunning(*job.ID, count, 3*time.Minute)
	return job
}

func HCLVars(vars map[string]string) string {
	var b strings.Builder
	for k, v := range vars {
		fmt.Fprintf(&b, "%s = %q\n", k, v)
	}
	return b.String()
}

// running counts job's allocations whose client status is running.
func (e *Env) Running(job string) (int, error) {
	allocs, _, err := e.Nomad().Jobs().Allocations(job, false, nil)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range allocs {
		if a.ClientStatus == nomad.AllocClientStatusRunning {
			n++
		}
	}
	return n, nil
}

// waitRunning waits until at least count allocations of job run.
func (e *Env) WaitRunning(job string, count int, timeout time.Duration) {
	e.T.Helper()
	Eventually(e.T, fmt.Sprintf("%d allocations of %s running", count, job), timeout, func() (bool, string) {
		n, err := e.Running(job)
		if err != nil {
			return false, err.Error()
		}
		return n >= count, fmt.Sprintf("%d running", n)
	})
}
