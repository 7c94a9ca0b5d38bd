package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestSandboxScript runs testdata/sandbox/*.txtar against real agents.
// They live apart from testdata/script because they need the agent binary
// cache: the scripts run with HOME=/no-home, so this harness builds or finds
// the binaries first (skipping outside CI when it cannot) and passes the
// cache to the scripts as NRUN_CACHE_DIR.
func TestSandboxScript(t *testing.T) {
	sandboxtest.Timer(t)
	sandboxtest.Require(t, sandbox.DefaultSpec("", 1, 1, 1, sandbox.DefaultNomadVersion))
	// consul.txtar starts Consul servers on the old version.
	sandboxtest.Require(t, sandbox.Spec{ConsulServers: 1, ConsulVersion: sandbox.OldConsulVersion})
	cache := os.Getenv("NRUN_CACHE_DIR")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(d, "nrun")
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "sandbox"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("NRUN_CACHE_DIR", cache)
			env.Setenv("NRUN_TOOLS_DIR", filepath.Join(repo, "tools"))
			// The agents are detached; if a script fails before its own
			// `nrun sandbox down`, stop them here so none outlives the test.
			dir := filepath.Join(env.WorkDir, ".nrun", "sandbox")
			env.Defer(func() {
				if c, err := sandbox.Open(dir, sandbox.Options{}); err == nil {
					if err := c.Stop(); err != nil {
						env.T().Log(err)
					}
				}
			})
			return nil
		},
	})
}
