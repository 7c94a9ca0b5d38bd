package executor

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

const upgradeRunbook = `
variable "nrun" {
  type = string
}
variable "sandbox" {
  type = string
}
variable "new_version" {
  type = string
}
data "nomad_servers" "all" {}
step "snapshot" {
  action "nomad_snapshot_save" {
    path = "backup.snap"
  }
}
step "upgrade" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 1
  depends_on   = [step.snapshot]
  precondition "quorum_ok" {}
  precondition {
    condition     = each.value.version != var.new_version
    error_message = "already upgraded"
  }
  action "exec" {
    command = ["sh", "upgrade.sh", var.nrun, var.sandbox, split(".", each.value.name)[0], var.new_version]
    check   = ["sh", "check.sh", var.nrun, var.sandbox, split(".", each.value.name)[0], var.new_version]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = "2m"
  }
  wait "servers_healthy" {
    timeout = "2m"
  }
}
`

// upgrade.sh swaps one sandbox server's binary (stop, start on the new
// version); check.sh is its probe: the server runs and gossips the new
// version.
//
// upgrade.sh must be idempotent: when nrun is killed in the middle, the
// orphaned "server stop" may finish while the "start" never runs, and the
// redo that the probe asks for finds the server already stopped.
const upgradeSh = `echo "$3" >> upgrades.log
"$1" sandbox server stop "$3" -dir "$2" || echo "$3 was already stopped"
"$1" sandbox server start "$3" -version "$4" -dir "$2"
`
const checkSh = `"$1" sandbox status -json -dir "$2" | grep -A6 "\"Name\": \"$3\"," | grep -q "\"Build\": \"$4\""
`

// TestLiveRollingUpgrade upgrades three real Nomad 1.9.4 servers to 1.10.0
// one at a time, leader last, and kills nrun with SIGKILL while the second
// server is being upgraded. Resume settles the in-doubt instance with the
// exec's check (is the server on the new version?) and finishes; a second
// apply is then blocked by the live "already upgraded" precondition.
func TestLiveRollingUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sandboxtest.Timer(t)
	spec := sandbox.DefaultSpec("", 3, 1, 0, "1.9.4")
	sb := sandboxtest.New(t, spec)
	e := liveEnv{sb: sb, root: sb.Root(), env: map[string]string{"NOMAD_REGION": "global"}}
	for _, a := range sb.Agents() {
		if a.Name == "c1" {
			e.env["NOMAD_ADDR"] = "http://" + a.HTTPAddr()
		}
	}
	e.waitHealthy(t)
	dir := writeRunbook(t, upgradeRunbook)
	os.WriteFile(filepath.Join(dir, "upgrade.sh"), []byte(upgradeSh), 0o644)
	os.WriteFile(filepath.Join(dir, "check.sh"), []byte(checkSh), 0o644)
	vars := []string{"-var", "nrun=" + nrunBin, "-var", "sandbox=" + e.root, "-var", "new_version=1.10.0"}
	run := func(args ...string) (int, string) {
		cmd := exec.Command(nrunBin, args...)
		cmd.Dir, cmd.Env = dir, e.environ()
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}

	cmd := exec.Command(nrunBin, append(append([]string{"apply", "-auto-approve"}, vars...), "main.nrun.hcl")...)
	cmd.Dir, cmd.Env = dir, e.environ()
	var first strings.Builder
	cmd.Stdout, cmd.Stderr = &first, &first
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second upgrade to start", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "upgrades.log"))
		return strings.Count(string(b), "\n") >= 2
	})
	time.Sleep(time.Duration(rand.Intn(600)) * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	code, out := run(append(append([]string{"apply", "-resume"}, vars...), "main.nrun.hcl")...)
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s\nfirst run:\n%s", code, out, first.String())
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "probe") || strings.Contains(line, "previous attempt") {
			t.Log(line)
		}
	}
	code, status := run("sandbox", "status", "-json", "-dir", e.root)
	if code != 0 {
		t.Fatal(status)
	}
	for _, name := range []string{"s1", "s2", "s3"} {
		c := exec.Command("sh", "check.sh", nrunBin, e.root, name, "1.10.0")
		c.Dir = dir
		if err := c.Run(); err != nil {
			t.Errorf("%s is not on 1.10.0 after the resumed upgrade:\n%s", name, status)
		}
	}
	log, _ := os.ReadFile(filepath.Join(dir, "upgrades.log"))
	t.Logf("upgrade attempts in order: %q", strings.Fields(string(log)))
	runs, _ := ListRuns(filepath.Join(dir, ".nrun"))
	if len(runs) != 1 || runs[0].State.End == nil || runs[0].State.End.Status != journal.StatusFinished {
		t.Fatalf("runs: %+v", runs)
	}
	e.waitHealthy(t)

	// Everything is on 1.10.0 now: a new apply is blocked before any
	// server is touched.
	code, out = run(append(append([]string{"apply", "-auto-approve"}, vars...), "main.nrun.hcl")...)
	if code == 0 || !strings.Contains(out, "already upgraded") {
		t.Fatalf("second apply: exit %d, want a block by the precondition\n%s", code, out)
	}
	log2, _ := os.ReadFile(filepath.Join(dir, "upgrades.log"))
	if string(log2) != string(log) {
		t.Fatalf("the second apply touched a server: %q", log2)
	}
}
