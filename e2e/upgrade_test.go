package e2e

import (
	"github.com/nrun-dev/nrun/e2e/e2etest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/sandbox"
)

// TestRollingUpgradeQuickStart runs the README's first command, as a new
// user would, in a copy of runbooks/:
//
//	nrun apply -sandbox runbooks/nomad-server-rolling-upgrade.nrun.hcl
//
// (with -auto-approve: the test has no terminal to answer on). It must
// start a sandbox of three Nomad 1.9.4 servers and two clients running
// the demo job, then snapshot, upgrade the followers one at a time and
// the leader last after moving leadership off it, and leave every server
// on 1.10.0, healthy, with the job still running. Run again, it reuses the
// sandbox and restarts nothing.
func TestRollingUpgradeQuickStart(t *testing.T) {
	qs, sbDir := e2etest.QuickStartEnv(t)
	e := &env{qs}

	r := e.Nrun("apply", "-sandbox", "-auto-approve", "runbooks/nomad-server-rolling-upgrade.nrun.hcl")
	t.Logf("apply -sandbox took %s", r.Took.Round(time.Millisecond))
	if r.Code != 0 {
		t.Fatalf("%s", r)
	}
	for _, want := range []string{
		"starting a sandbox in " + sbDir,
		`starting the "demo" job`,
		"reading variables from runbooks/sandbox.nrunvars.hcl",
		"Run ", "finished. 11 finished, 0 failed, 0 skipped.",
	} {
		if !strings.Contains(r.Stdout+r.Stderr, want) {
			t.Errorf("the output lacks %q\n%s", want, r)
		}
	}

	// The order, from the apply's own timestamped lines.
	last := e2etest.CheckRollingOrder(t, r.Stdout, `(s\d)\.global`, `transferring leadership from (s\d)\.global`, "")

	c, err := sandbox.Open(sbDir, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := c.Status()
	for _, s := range st.Servers {
		if s.Build != sandbox.DefaultNomadVersion || !s.Running || s.Member != "alive" || !s.Voter {
			t.Errorf("server %s after the upgrade: %+v", s.Name, s)
		}
	}
	if len(st.Servers) != 3 || len(st.Problems) > 0 {
		t.Errorf("servers %+v, problems %q", st.Servers, st.Problems)
	}
	// The last server stopped was the leader at the start; after the
	// transfer another server leads.
	for _, s := range st.Servers {
		if s.Leader && s.Name == last {
			t.Logf("note: %s leads again after its upgrade (a later election)", last)
		}
	}
	nc, err := c.NomadClient()
	if err != nil {
		t.Fatal(err)
	}
	e2etest.Eventually(t, "the demo job running on both clients", time.Minute, func() (bool, string) {
		allocs, _, err := nc.Jobs().Allocations(sandbox.DemoJob, false, nil)
		if err != nil {
			return false, err.Error()
		}
		n := 0
		for _, a := range allocs {
			if a.ClientStatus == "running" {
				n++
			}
		}
		return n == 2, strings.Repeat("running ", n)
	})
	// The same command again reuses the sandbox, and the plan leaves out
	// the servers already on the new version: nothing is restarted.
	again := e.Nrun("apply", "-sandbox", "-auto-approve", "runbooks/nomad-server-rolling-upgrade.nrun.hcl")
	if again.Code != 0 {
		t.Fatalf("second apply: %s", again)
	}
	for _, want := range []string{"reusing the sandbox in " + sbDir, "Plan: 2 step instances, 0 disrupt servers", "finished. 2 finished, 0 failed, 0 skipped."} {
		if !strings.Contains(again.Stdout+again.Stderr, want) {
			t.Errorf("the second apply's output lacks %q\n%s", want, again)
		}
	}
	if strings.Contains(again.Stdout, "step.upgrade") {
		t.Errorf("the second apply touched a server:\n%s", again)
	}
	for _, f := range []string{"nomad-pre-upgrade.snap", "nomad-post-upgrade.snap"} {
		if fi, err := os.Stat(filepath.Join(e.Dir, "runbooks", f)); err != nil || fi.Size() == 0 {
			t.Errorf("snapshot %s: %v", f, err)
		}
	}
}
