package sandboxtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/sandbox"
)

// Require makes sure every agent version spec needs is available (building
// it into the cache on first use), or skips t (fails it under CI).
func Require(t testing.TB, spec sandbox.Spec) {
	t.Helper()
	bins := spec.Binaries
	if bins == nil {
		bins = &sandbox.Binaries{}
	}
	need := map[[2]string]bool{}
	add := func(p sandbox.Product, v, def string) {
		if v == "" {
			v = def
		}
		need[[2]string{string(p), v}] = true
	}
	for _, s := range spec.Servers {
		add(sandbox.Nomad, s.Version, sandbox.DefaultNomadVersion)
	}
	for _, c := range spec.Clients {
		add(sandbox.Nomad, c.Version, sandbox.DefaultNomadVersion)
	}
	if spec.ConsulServers > 0 {
		add(sandbox.Consul, spec.ConsulVersion, sandbox.DefaultConsulVersion)
	}
	var keys [][2]string
	for k := range need {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	for _, k := range keys {
		if _, err := bins.Path(ctx, sandbox.Product(k[0]), k[1]); err != nil {
			if InCI() {
				t.Fatalf("sandbox: %s %s is required and CI is set: %v", k[0], k[1], err)
			}
			t.Skipf("sandbox: skipping, %s %s is not available and could not be built (set CI=true to make this a failure): %v", k[0], k[1], err)
		}
	}
}

// InCI reports whether CI is set to something other than "", "0" or
// "false". In CI a sandbox test must fail, never skip, when it has no agents.
func InCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}

// New starts a cluster for t and stops it when t ends. A test that fails
// gets the tails of every agent log in its output.
func New(t testing.TB, spec sandbox.Spec) *sandbox.Cluster {
	t.Helper()
	Require(t, spec)
	if spec.Root == "" {
		spec.Root = t.TempDir()
	}
	if spec.Progress == nil {
		spec.Progress = testWriter{t}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := sandbox.Start(ctx, spec)
	if err != nil {
		t.Fatalf("sandbox start: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent logs:\n%s", c.LogTails(40))
		}
		if err := c.Stop(); err != nil {
			t.Errorf("sandbox stop: %v", err)
		}
	})
	return c
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

var (
	sharedMu sync.Mutex
	shared   = map[string]*sharedCluster{}
)

type sharedCluster struct {
	c    *sandbox.Cluster
	root string
	err  error
}

// Shared returns the package's cluster named key, starting it on first use
// with spec (Root is chosen here). Tests that share a cluster must leave it
// as they found it; stop it from TestMain with Main. A failed start is
// remembered, so later tests fail fast instead of trying again.
func Shared(t testing.TB, key string, spec sandbox.Spec) *sandbox.Cluster {
	t.Helper()
	Require(t, spec)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if s, ok := shared[key]; ok {
		if s.err != nil {
			t.Fatalf("shared sandbox %q failed to start earlier: %v", key, s.err)
		}
		return s.c
	}
	root, err := os.MkdirTemp("", "nrun-sandbox-"+key+"-")
	if err != nil {
		t.Fatal(err)
	}
	spec.Root = root
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, err := sandbox.Start(ctx, spec)
	shared[key] = &sharedCluster{c: c, root: root, err: err}
	if err != nil {
		t.Fatalf("shared sandbox %q: %v", key, err)
	}
	return c
}

// Main runs the package's tests, then stops every shared cluster and
// removes its directory. Use it as: func TestMain(m *testing.M) {
// os.Exit(sandboxtest.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	for key, s := range shared {
		if s.c == nil {
			continue
		}
		if err := s.c.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "sandboxtest: stop shared sandbox %q: %v\n", key, err)
			code = 1
		}
		if err := os.RemoveAll(s.root); err != nil {
			fmt.Fprintf(os.Stderr, "sandboxtest: remove shared sandbox %q: %v\n", key, err)
			code = 1
		}
	}
	return code
}

// Timer records the wall time of t: it logs it and, when NRUN_TIMINGS is
// set to a file name, appends "package test seconds" to that file, so CI
// can print every sandbox test's time even when `go test` hides the logs of
// passing tests. Call it first in the test; it reports from t.Cleanup.
func Timer(t testing.TB) {
	start := time.Now()
	t.Cleanup(func() {
		took := time.Since(start)
		status := "ok"
		if t.Failed() {
			status = "FAIL"
		} else if t.Skipped() {
			status = "skip"
		}
		t.Logf("wall time %s: %.1fs (%s)", t.Name(), took.Seconds(), status)
		if f := os.Getenv("NRUN_TIMINGS"); f != "" {
			wd, _ := os.Getwd()
			line := fmt.Sprintf("%-12s %-64s %7.1fs %s\n", filepath.Base(wd), t.Name(), took.Seconds(), status)
			if fh, err := os.OpenFile(f, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err == nil {
				fh.WriteString(line)
				fh.Close()
			}
		}
	})
}

// BuildNrun builds the nrun command into dir/nrun and returns its path,
// for tests that run nrun as an operator would (and for runbooks whose
// exec steps call `nrun sandbox`: an exec finds the running nrun first on
// its PATH only when the binary is named nrun).
func BuildNrun(dir string) (string, error) {
	bin := filepath.Join(dir, "nrun")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/nrun-dev/nrun/cmd/nrun").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/nrun: %v\n%s", err, out)
	}
	return bin, nil
}
