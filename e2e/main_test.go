package e2e

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

// nrunBin is the nrun binary built once for every test. Its directory is
// first on the PATH of every nrun the tests run, so the runbooks' exec
// steps (`nrun sandbox server stop ...`) find it.
var nrunBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "nrun-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	nrunBin = filepath.Join(dir, "nrun")
	out, err := exec.Command("go", "build", "-o", nrunBin, "../cmd/nrun").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build nrun: %v\n%s", err, out)
		os.Exit(1)
	}
	code := sandboxtest.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// runbooksDir is the repository's runbooks/ directory, absolute.
func runbooksDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("..", "runbooks"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// env is one test's fresh sandbox and the environment nrun runs in.
type env struct {
	t  testing.TB
	sb *sandbox.Cluster
	// dir is the working directory of every nrun run: plan files,
	// snapshots and the .nrun state directory land here.
	dir string
	// vars are extra KEY=value environment entries, overriding the
	// sandbox's own (for example NOMAD_ADDR pointing at a client agent).
	vars map[string]string
}

// newEnv starts a fresh sandbox from spec for t (stopped when t ends).
// NOMAD_ADDR points at the first client agent when there is one: clients
// forward to whichever server leads, so the address survives any one
// server going down during a rolling procedure.
func newEnv(t testing.TB, spec sandbox.Spec) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sandboxtest.Timer(t)
	sb := sandboxtest.New(t, spec)
	e := &env{t: t, sb: sb, dir: t.TempDir(), vars: map[string]string{}}
	for _, a := range sb.Agents() {
		if a.Kind == sandbox.NomadClient {
			e.vars["NOMAD_ADDR"] = "http://" + a.HTTPAddr()
			break
		}
	}
	return e
}

// environ is the environment of an nrun run: the test's own, minus any
// NOMAD_/CONSUL_ settings of the developer's shell, plus the sandbox's,
// plus e.vars, with nrunBin's directory first on PATH.
func (e *env) environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "NOMAD_") || strings.HasPrefix(k, "CONSUL_") || k == "NRUN_SANDBOX_DIR" || k == "PATH" {
			continue
		}
		out = append(out, kv)
	}
	out = append(out, "PATH="+filepath.Dir(nrunBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	if e.sb != nil {
		out = append(out, e.sb.Env()...)
	}
	for k, v := range e.vars {
		out = append(out, k+"="+v)
	}
	return out
}

// result is one finished nrun run.
type result struct {
	args           []string
	code           int
	stdout, stderr string
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("nrun %s: exit %d after %s\n--- stdout\n%s--- stderr\n%s", strings.Join(r.args, " "), r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// nrun runs the nrun binary in e.dir and returns how it ended.
func (e *env) nrun(args ...string) result {
	e.t.Helper()
	cmd := exec.Command(nrunBin, args...)
	cmd.Dir, cmd.Env = e.dir, e.environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := result{args: args, stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run nrun: %v", err)
	}
	return r
}

// mustNrun runs nrun and fails the test unless it exits 0.
func (e *env) mustNrun(args ...string) result {
	e.t.Helper()
	r := e.nrun(args...)
	if r.code != 0 {
		e.t.Fatalf("%s", r)
	}
	return r
}

// nomad returns an API client for the sandbox (through NOMAD_ADDR).
func (e *env) nomad() *nomad.Client {
	e.t.Helper()
	cfg := nomad.DefaultConfig()
	cfg.Address = e.vars["NOMAD_ADDR"]
	if cfg.Address == "" {
		c, err := e.sb.NomadClient()
		if err != nil {
			e.t.Fatal(err)
		}
		return c
	}
	cfg.Region = "global"
	c, err := nomad.NewClient(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// eventually polls cond every 250ms until it holds or timeout passes.
func eventually(t testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
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
func (e *env) registerJob(path string, vars map[string]string, count int) *nomad.Job {
	e.t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	c := e.nomad()
	job, err := c.Jobs().ParseHCLOpts(&nomad.JobsParseRequest{JobHCL: string(src), Variables: hclVars(vars)})
	if err != nil {
		e.t.Fatalf("parse %s: %v", path, err)
	}
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		e.t.Fatalf("register %s: %v", *job.ID, err)
	}
	e.waitRunning(*job.ID, count, 3*time.Minute)
	return job
}

func hclVars(vars map[string]string) string {
	var b strings.Builder
	for k, v := range vars {
		fmt.Fprintf(&b, "%s = %q\n", k, v)
	}
	return b.String()
}

// running counts job's allocations whose client status is running.
func (e *env) running(job string) (int, error) {
	allocs, _, err := e.nomad().Jobs().Allocations(job, false, nil)
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
func (e *env) waitRunning(job string, count int, timeout time.Duration) {
	e.t.Helper()
	eventually(e.t, fmt.Sprintf("%d allocations of %s running", count, job), timeout, func() (bool, string) {
		n, err := e.running(job)
		if err != nil {
			return false, err.Error()
		}
		return n >= count, fmt.Sprintf("%d running", n)
	})
}
