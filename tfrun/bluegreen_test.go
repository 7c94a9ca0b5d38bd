package tfrun_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// TestLiveBlueGreenInfra applies runbooks/blue-green/infra with the real
// terraform against a real sandbox: one green server and one green client
// are added by the configuration's local-exec provisioners (`nrun sandbox
// server add`, `client add`, run concurrently by terraform), and counts of
// zero remove them again.
func TestLiveBlueGreenInfra(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sandboxtest.Timer(t)
	tf := terraform(t)
	sb := sandboxtest.New(t, sandbox.DefaultSpec("", 3, 0, 0, sandbox.DefaultNomadVersion))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	bin := filepath.Join(t.TempDir(), "nrun")
	t0 := time.Now()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/nrun")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/nrun: %v\n%s", err, out)
	}
	t.Logf("built nrun in %s", time.Since(t0).Round(100*time.Millisecond))

	// A copy, so state and .terraform stay out of the repository.
	dir := t.TempDir()
	copyDir(t, filepath.Join("..", "runbooks", "blue-green", "infra"), dir)
	tf.Env = []string{"NRUN_SANDBOX_DIR=" + sb.Root()}
	vars := func(servers, clients int) map[string]cty.Value {
		return map[string]cty.Value{
			"blue_server_count":  cty.NumberIntVal(0),
			"blue_client_count":  cty.NumberIntVal(0),
			"green_server_count": cty.NumberIntVal(int64(servers)),
			"green_client_count": cty.NumberIntVal(int64(clients)),
			"green_version":      cty.StringVal(sandbox.DefaultNomadVersion),
			"nrun":               cty.StringVal(bin),
		}
	}

	p, err := tf.Plan(ctx, dir, vars(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if p.Add != 2 || p.Change != 0 || p.Destroy != 0 ||
		p.Changes[0].String() != "+ terraform_data.green_client[0]" || p.Changes[1].String() != "+ terraform_data.green_server[0]" {
		t.Fatalf("plan green 1+1: %+v", p)
	}
	t0 = time.Now()
	out, err := tf.Apply(ctx, dir, vars(1, 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("apply green 1+1 took %s", time.Since(t0).Round(100*time.Millisecond))
	if got := names(out["green_server_names"].Value); got != "green-server-1" {
		t.Errorf("green_server_names = %s", got)
	}
	if got := names(out["green_client_names"].Value); got != "green-client-1" {
		t.Errorf("green_client_names = %s", got)
	}
	peers, nodes := fleet(t, sb)
	if !strings.Contains(peers, "green-server-1") || !strings.Contains(nodes, "green-client-1:ready") {
		t.Fatalf("after apply: raft peers %s, nodes %s", peers, nodes)
	}
	// Both agents are in the sandbox's state file: the provisioners ran
	// one at a time, so neither overwrote the other's record.
	state, err := os.ReadFile(filepath.Join(sb.Root(), "sandbox.json"))
	if err != nil || !strings.Contains(string(state), `"green-server-1"`) || !strings.Contains(string(state), `"green-client-1"`) {
		t.Fatalf("sandbox state after apply lacks an agent (%v):\n%s", err, state)
	}

	// A provisioner run again after an interrupted apply is harmless.
	if out := script(t, ctx, dir, sb, bin, "server", "add", "green-server-1", "-version", sandbox.DefaultNomadVersion); !strings.Contains(out, "green-server-1 already exists") {
		t.Errorf("second add: %s", out)
	}

	if p, err := tf.Plan(ctx, dir, vars(1, 1)); err != nil || !p.NoChanges() {
		t.Fatalf("plan after apply: %+v, %v", p, err)
	}

	t0 = time.Now()
	if _, err := tf.Apply(ctx, dir, vars(0, 0)); err != nil {
		t.Fatal(err)
	}
	t.Logf("apply green 0+0 took %s", time.Since(t0).Round(100*time.Millisecond))
	peers, nodes = fleet(t, sb)
	if strings.Contains(peers, "green") || strings.Contains(nodes, "green") {
		t.Fatalf("after count 0: raft peers %s, nodes %s", peers, nodes)
	}
	if out := script(t, ctx, dir, sb, bin, "client", "remove", "green-client-1"); !strings.Contains(out, "green-client-1 is already gone") {
		t.Errorf("second remove: %s", out)
	}
}

// script runs the configuration's sandbox.sh as a provisioner would and
// fails the test when it exits non-zero.
func script(t *testing.T, ctx context.Context, dir string, sb *sandbox.Cluster, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "./sandbox.sh", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NRUN_SANDBOX_DIR="+sb.Root())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sandbox.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func names(v cty.Value) string {
	if v.IsNull() || !v.CanIterateElements() {
		return v.GoString()
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	return strings.Join(out, ",")
}

// fleet lists the Raft peers and the client nodes (name:status) as the
// sandbox's first server sees them.
func fleet(t *testing.T, sb *sandbox.Cluster) (string, string) {
	t.Helper()
	nc, err := sb.NomadClient()
	if err != nil {
		t.Fatal(err)
	}
	rc, err := nc.Operator().RaftGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	var peers []string
	for _, s := range rc.Servers {
		peers = append(peers, s.Node)
	}
	ns, _, err := nc.Nodes().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	var nodes []string
	for _, n := range ns {
		nodes = append(nodes, n.Name+":"+n.Status)
	}
	return strings.Join(peers, ","), strings.Join(nodes, ",")
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".terraform") || strings.Contains(e.Name(), ".tfstate") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}
