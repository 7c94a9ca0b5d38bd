package e2etest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// QuickStartEnv is the README's quick start as a new user meets it: a
// fresh directory holding a copy of the rolling-upgrade runbook and its
// sandbox variables under runbooks/, with NRUN_SANDBOX_DIR set to sbDir
// (sandbox/ in it), where `nrun apply -sandbox` starts its own sandbox.
// Whatever sandbox is there is stopped when t ends (with its agents' log
// tails if t failed). Like NewEnv it skips with -short; without the agent
// binaries it does what sandboxtest.Require does.
func QuickStartEnv(t testing.TB) (e *Env, sbDir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sandboxtest.Timer(t)
	sandboxtest.Require(t, sandbox.DefaultSpec("", 3, 2, 3, sandbox.OldNomadVersion))
	work := t.TempDir()
	rb := filepath.Join(work, "runbooks")
	for _, f := range []string{"nomad-server-rolling-upgrade.nrun.hcl", "sandbox.nrunvars.hcl"} {
		b, err := os.ReadFile(filepath.Join(RunbooksDir(t), f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(rb, 0o755)
		if err := os.WriteFile(filepath.Join(rb, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sbDir = filepath.Join(work, "sandbox")
	t.Cleanup(func() {
		if c, err := sandbox.Open(sbDir, sandbox.Options{}); err == nil {
			if t.Failed() {
				t.Logf("agent logs:\n%s", c.LogTails(30))
			}
			if err := c.Stop(); err != nil {
				t.Errorf("sandbox stop: %v", err)
			}
		}
	})
	return &Env{T: t, Dir: work, Vars: map[string]string{"NRUN_SANDBOX_DIR": sbDir}}, sbDir
}
