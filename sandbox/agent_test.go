package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A PID recorded in a state file may have been reused by an unrelated
// process after a crash; only a process that runs from the agent's
// directory counts as the agent, and only processes inside the sandbox
// root are swept.
func TestOwnershipByDirectory(t *testing.T) {
	root := t.TempDir()
	agentDir := filepath.Join(root, "servers", "s1")
	if err := os.MkdirAll(agentDir, 0o755); err != nil {
		t.Fatal(err)
	}
	inside := exec.Command("/bin/sleep", "30")
	inside.Dir = agentDir
	outside := exec.Command("/bin/sh", "-c", "sleep 30; true # "+agentDir)
	stranger := exec.Command("/bin/sleep", "31")
	for _, c := range []*exec.Cmd{inside, outside, stranger} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	}
	// sh forks sleep; give it a moment so the child exists.
	time.Sleep(200 * time.Millisecond)

	if ownedBy(stranger.Process.Pid, agentDir) {
		t.Error("an unrelated process was taken for the agent")
	}
	if !ownedBy(outside.Process.Pid, agentDir) {
		t.Error("a process whose command line names the agent dir was not recognised")
	}
	got := processesUnder(root)
	for name, pid := range map[string]int{"cwd inside root": inside.Process.Pid, "cmdline names root": outside.Process.Pid} {
		if !slices.Contains(got, pid) {
			t.Errorf("%s: pid %d not swept; got %v", name, pid, got)
		}
	}
	if slices.Contains(got, stranger.Process.Pid) || slices.Contains(got, os.Getpid()) {
		t.Errorf("sweep would kill a process outside the sandbox: %v", got)
	}
	// The shell's sleep child is a descendant and must be swept too.
	kids, _ := os.ReadFile("/proc/" + itoa(outside.Process.Pid) + "/task/" + itoa(outside.Process.Pid) + "/children")
	if len(strings.Fields(string(kids))) == 0 {
		t.Fatal("the shell has no child; the descendant check would prove nothing")
	}
	for _, k := range strings.Fields(string(kids)) {
		if !slices.Contains(got, atoi(k)) {
			t.Errorf("descendant %s of a sandbox process not swept; got %v", k, got)
		}
	}
	inside.Process.Kill()
	inside.Wait()
	if ownedBy(inside.Process.Pid, agentDir) {
		t.Error("a dead process still counts as the agent")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// Right after its exec a process's command line reads empty for a moment
// (the kernel fills it in after Start has returned). An agent looked at in
// that moment must not be taken for a dead one: that made a sandbox start
// fail now and then with "consul-server consul1 exited" and an agent log
// holding nothing but the starting line.
func TestSpawnedAgentIsOwnedAtOnce(t *testing.T) {
	root := t.TempDir()
	for i := range 100 {
		a := &Agent{Kind: NomadClient, Name: "c" + itoa(i), Binary: "/bin/sleep", Dir: filepath.Join(root, "c"+itoa(i))}
		if err := os.MkdirAll(a.Dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd, err := spawn(a, []string{"30"}, false)
		if err != nil {
			t.Fatal(err)
		}
		owned := ownedBy(cmd.Process.Pid, a.Dir)
		cmd.Process.Kill()
		cmd.Wait()
		if !owned {
			t.Fatalf("start %d: the agent just started (pid %d) does not count as running", i, cmd.Process.Pid)
		}
	}
}
