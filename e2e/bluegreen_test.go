package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/nrun-dev/nrun/e2e/e2etest"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	consul "github.com/hashicorp/consul/api"
	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// TestBlueGreenMigration runs runbooks/blue-green-image-migration.nrun.hcl
// through `nrun plan -out` and `nrun apply` on a fresh sandbox whose
// agents are the blue fleet: three Nomad 1.9.4 servers and two clients,
// each with its own Consul agent, and three Consul 1.20.6 servers. The
// runbook's terraform (the real binary) adds the green fleet on 1.10.0 and
// three green Consul 1.21.0 servers through `nrun sandbox` and removes the
// blue ones at the end. nrun reads Consul through a Consul client agent of
// its own ("ops", the operator's machine), which outlives every server.
//
// NOMAD_ADDR is `nrun sandbox balance`, a load balancer over the running
// Nomad servers as in front of a real fleet: no single server outlives
// the migration.
//
// While the run goes on, a watcher reads the Raft configuration and
// autopilot health every 250ms and records the smallest margin of healthy
// voters over quorum; it must never go below zero. Another does the same
// for Consul's Raft.
func TestBlueGreenMigration(t *testing.T) {
	start := time.Now()
	spec := sandbox.Spec{ConsulServers: 3, ConsulVersion: sandbox.OldConsulVersion, ConsulNamePrefix: "blue-", ServerStabilizationTime: 2 * time.Second}
	for i := 1; i <= 3; i++ {
		spec.Servers = append(spec.Servers, sandbox.ServerSpec{Name: fmt.Sprintf("blue-server-%d", i), Version: sandbox.OldNomadVersion, ConsulAgent: true})
	}
	for i := 1; i <= 2; i++ {
		spec.Clients = append(spec.Clients, sandbox.ClientSpec{Name: fmt.Sprintf("blue-client-%d", i), Version: sandbox.OldNomadVersion, ConsulAgent: true})
	}
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Fatalf("terraform is not on PATH: %v", err)
	}
	if !testing.Short() {
		// The green Consul servers run the new version.
		sandboxtest.Require(t, sandbox.Spec{ConsulServers: 1, ConsulVersion: sandbox.DefaultConsulVersion})
	}
	e := newEnv(t, spec)
	// No server outlives the migration, and a client's address does not
	// do (force-leave only answers on servers): NOMAD_ADDR is the
	// sandbox's load balancer over whichever servers run.
	e.Vars["NOMAD_ADDR"] = bgBalance(t, e)
	// No Consul server outlives it either: nrun reads Consul through a
	// client agent of its own, which forwards to whichever server is up.
	actx, acancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer acancel()
	if err := e.SB.AddConsulAgent(actx, "ops"); err != nil {
		t.Fatal(err)
	}
	e.Vars["CONSUL_HTTP_ADDR"] = "http://" + e.SB.ConsulAgents()["ops"]
	cc, err := consul.NewClient(&consul.Config{Address: e.Vars["CONSUL_HTTP_ADDR"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sandbox up after %s", time.Since(start).Round(100*time.Millisecond))

	// The runbooks directory is copied so terraform's state and
	// .terraform stay out of the repository.
	rbDir := filepath.Join(e.Dir, "runbooks")
	bgCopyTree(t, e2etest.RunbooksDir(t), rbDir)
	jobFile := filepath.Join(e.Dir, "web.nomad.hcl")
	if err := os.WriteFile(jobFile, []byte(bgJob), 0o644); err != nil {
		t.Fatal(err)
	}
	e.RegisterJob(jobFile, nil, 2)
	if on := bgAllocNodes(t, e, "web"); !bgAllOn(on, "blue-client-") {
		t.Fatalf("web runs on %v before the migration, want blue clients only", on)
	}

	// The Consul agents' addresses come from the sandbox, as an operator
	// gets them; the deadlines are lowered for the test.
	agents := e.SB.ConsulAgents()
	vars := e.MustNrun("sandbox", "consul-agents").Stdout
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("blue-server-%d", i)
		if agents[name] == "" || !strings.Contains(vars, fmt.Sprintf("%q = %q", name, agents[name])) {
			t.Fatalf("nrun sandbox consul-agents lacks %s (%v):\n%s", name, agents, vars)
		}
	}
	vars += "drain_deadline = \"1m\"\nsettle_time = \"1s\"\n"
	varFile := filepath.Join(e.Dir, "sandbox.nrunvars.hcl")
	if err := os.WriteFile(varFile, []byte(vars), 0o644); err != nil {
		t.Fatal(err)
	}

	runbook := filepath.Join(rbDir, "blue-green-image-migration.nrun.hcl")
	// Plan once autopilot has every blue server healthy, as an operator
	// would, so the plan's quorum previews show nothing blocked.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := e.SB.WaitHealthy(ctx, 1); err != nil {
		t.Fatal(err)
	}
	// Exit 2 with -detailed-exitcode: a plan with steps to run.
	plan := e.Nrun("plan", "-detailed-exitcode", "-var-file", varFile, "-out", "bluegreen.plan", runbook)
	if plan.Code != 2 || strings.Contains(plan.Stdout, "would block now") {
		t.Fatalf("want a plan with nothing blocked (exit 2):\n%s", plan)
	}
	t.Logf("plan took %s", plan.Took.Round(time.Millisecond))
	for _, line := range strings.Split(plan.Stdout, "\n") {
		if strings.HasPrefix(line, "Consul (") || strings.HasPrefix(line, "Nomad (") {
			t.Log(line)
		}
	}

	w := e2etest.BgWatchQuorum(t, e.Env)
	cw := e2etest.WatchConsulQuorum(t, e.Env, cc)
	apply := e.Nrun("apply", "-auto-approve", "bluegreen.plan")
	w.Stop()
	cw.Stop()
	if apply.Code != 0 {
		t.Fatalf("%s\n%s", apply, e.SB.LogTails(20))
	}
	t.Logf("apply took %s", apply.Took.Round(100*time.Millisecond))
	for _, line := range strings.Split(apply.Stdout, "\n") {
		if strings.Contains(line, ": finished (") || strings.Contains(line, "transferring") {
			t.Log(line)
		}
	}
	t.Logf("quorum watch: %s", w)
	if w.Samples < 20 {
		t.Errorf("the quorum watcher read the cluster only %d times during the run", w.Samples)
	}
	if w.MinMargin < 0 {
		t.Errorf("quorum was lost during the run: %s", w)
	}
	// Each blue server is down for 8s or more (the force-leave alone waits
	// about 6s for serf's broadcast), so samples at most 6s apart see every
	// down window; on a loaded 2-core CI machine one e2etest.Sample may time out
	// (2s) and the next be slow, so the bound is not tighter.
	if w.Degraded < 3 || w.Gap > 6*time.Second {
		t.Errorf("the quorum watcher did not follow the run closely enough to prove anything: %s", w)
	}
	// The same for Consul: each blue Consul server is down from its stop
	// until it is out of Raft, seconds (the force-leave waits for serf's
	// broadcast).
	t.Logf("Consul quorum watch: %s", cw)
	if cw.MinMargin < 0 {
		t.Errorf("Consul quorum was lost during the run: %s", cw)
	}
	if cw.Samples < 20 || cw.Degraded < 3 || cw.Gap > 6*time.Second {
		t.Errorf("the Consul quorum watcher did not follow the run closely enough to prove anything: %s", cw)
	}
	for i := 1; i <= 3; i++ {
		held := fmt.Sprintf("step.blue_consul_retire[\"blue-consul-%d\"]: precondition quorum_ok: ok", i)
		if !strings.Contains(apply.Stdout, held) {
			t.Errorf("the apply output does not show %q", held)
		}
	}
	for i := 1; i <= 3; i++ {
		// Each retirement began with quorum_ok holding on the live cluster.
		held := fmt.Sprintf("step.blue_retire[\"blue-server-%d.global\"]: precondition quorum_ok: ok", i)
		if !strings.Contains(apply.Stdout, held) {
			t.Errorf("the apply output does not show %q", held)
		}
		want := fmt.Sprintf("consul node blue-server-%d maintenance=true (agent %s)", i, agents[fmt.Sprintf("blue-server-%d", i)])
		if !strings.Contains(apply.Stdout+apply.Stderr, want) {
			t.Errorf("the apply output does not show %q", want)
		}
	}

	c := e.Nomad()
	// Raft holds exactly the green servers, every one a voter.
	rc, err := c.Operator().RaftGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	var peers []string
	for _, s := range rc.Servers {
		peers = append(peers, fmt.Sprintf("%s voter=%v", s.Node, s.Voter))
	}
	sort.Strings(peers)
	if got, want := strings.Join(peers, ", "), "green-server-1.global voter=true, green-server-2.global voter=true, green-server-3.global voter=true"; got != want {
		t.Errorf("raft peers:\n got %s\nwant %s", got, want)
	}
	h, err := e.SB.AutopilotHealth()
	if err != nil || !h.Healthy || h.FailureTolerance != 1 {
		t.Errorf("autopilot after the migration: %+v, %v", h, err)
	}
	ms, err := c.Agent().Members()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms.Members {
		if strings.HasPrefix(m.Name, "blue-") {
			t.Errorf("serf still has member %s (%s)", m.Name, m.Status)
		}
		if m.Tags["build"] != sandbox.DefaultNomadVersion {
			t.Errorf("member %s runs %s, want %s", m.Name, m.Tags["build"], sandbox.DefaultNomadVersion)
		}
	}

	// The blue members are gone: from the sandbox, from Nomad's node list,
	// from the Consul catalog, and from terraform's state.
	for _, a := range e.SB.Agents() {
		if strings.HasPrefix(a.Name, "blue-") {
			t.Errorf("the sandbox still has %s %s", a.Kind, a.Name)
		}
	}
	nodes, _, err := c.Nodes().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name+":"+n.Status)
	}
	sort.Strings(names)
	if got := strings.Join(names, " "); got != "green-client-1:ready green-client-2:ready" {
		t.Errorf("nodes after the migration: %s", got)
	}
	var catalog []struct{ Node string }
	if err := bgGetJSON(bgConsulAddr(t, e.SB)+"/v1/catalog/nodes", &catalog); err != nil {
		t.Fatal(err)
	}
	for _, n := range catalog {
		if strings.HasPrefix(n.Node, "blue-") {
			t.Errorf("the Consul catalog still has node %s", n.Node)
		}
	}
	// Consul's Raft holds exactly the green Consul servers, voters on the
	// new version, healthy; the Nomad agents' services are registered and
	// passing through their own Consul agents.
	crc, err := cc.Operator().RaftGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	peers = nil
	for _, s := range crc.Servers {
		peers = append(peers, fmt.Sprintf("%s voter=%v", s.Node, s.Voter))
	}
	sort.Strings(peers)
	if got, want := strings.Join(peers, ", "), "green-consul-1 voter=true, green-consul-2 voter=true, green-consul-3 voter=true"; got != want {
		t.Errorf("Consul raft peers:\n got %s\nwant %s", got, want)
	}
	e2etest.Eventually(t, "Consul autopilot healthy with failure tolerance 1", time.Minute, func() (bool, string) {
		ch, err := cc.Operator().AutopilotServerHealth(nil)
		if err != nil {
			return false, err.Error()
		}
		return ch.Healthy && ch.FailureTolerance == 1 && len(ch.Servers) == 3, fmt.Sprintf("healthy=%v tolerance=%d servers=%d", ch.Healthy, ch.FailureTolerance, len(ch.Servers))
	})
	if got, err := e.SB.ConsulServerVersions(); err != nil || fmt.Sprint(got) != fmt.Sprint(map[string]string{"green-consul-1": sandbox.DefaultConsulVersion, "green-consul-2": sandbox.DefaultConsulVersion, "green-consul-3": sandbox.DefaultConsulVersion}) {
		t.Errorf("Consul servers after the migration: %v (%v)", got, err)
	}
	cms, err := cc.Agent().Members(false)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range cms {
		if strings.HasPrefix(m.Name, "blue-consul-") && m.Status == 1 {
			t.Errorf("Consul member %s is still alive", m.Name)
		}
	}
	e2etest.Eventually(t, "the green Nomad agents' services passing in Consul", time.Minute, func() (bool, string) {
		var seen []string
		ok := true
		for svc, want := range map[string]string{"nomad": "green-server-1 green-server-2 green-server-3", "nomad-client": "green-client-1 green-client-2"} {
			names, err := e2etest.PassingNodes(cc, svc)
			if err != nil {
				return false, err.Error()
			}
			seen = append(seen, svc+" passing on ["+strings.Join(names, " ")+"]")
			ok = ok && strings.Join(names, " ") == want
		}
		sort.Strings(seen)
		return ok, strings.Join(seen, ", ")
	})

	out, err := exec.Command("terraform", "-chdir="+filepath.Join(rbDir, "blue-green", "infra"), "state", "list").Output()
	if err != nil {
		t.Fatalf("terraform state list: %v\n%s", err, out)
	}
	if got, want := strings.Join(strings.Fields(string(out)), " "),
		"terraform_data.green_client[0] terraform_data.green_client[1] terraform_data.green_consul[0] terraform_data.green_consul[1] terraform_data.green_consul[2] terraform_data.green_server[0] terraform_data.green_server[1] terraform_data.green_server[2]"; got != want {
		t.Errorf("terraform state:\n got %s\nwant %s", got, want)
	}

	// The job's allocations all run on green clients.
	if n, err := e.Running("web"); err != nil || n != 2 {
		t.Errorf("web has %d running allocations (%v), want 2", n, err)
	}
	if on := bgAllocNodes(t, e, "web"); !bgAllOn(on, "green-client-") {
		t.Errorf("web runs on %v after the migration, want green clients only", on)
	}
	t.Logf("TestBlueGreenMigration took %s", time.Since(start).Round(100*time.Millisecond))
}

// bgJob migrates its two allocations together, so a drain takes seconds,
// not the minutes of web.nomad.hcl's canary settings.
const bgJob = `
job "web" {
  type = "service"
  group "web" {
    count = 2
    migrate {
      max_parallel     = 2
      min_healthy_time = "2s"
      healthy_deadline = "1m"
    }
    update {
      min_healthy_time = "2s"
      healthy_deadline = "1m"
    }
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
`

// bgAllocNodes maps each running allocation of job to its node's name.
func bgAllocNodes(t *testing.T, e *env, job string) []string {
	t.Helper()
	c := e.Nomad()
	allocs, _, err := c.Jobs().Allocations(job, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range allocs {
		if a.ClientStatus == nomad.AllocClientStatusRunning {
			out = append(out, a.NodeName)
		}
	}
	sort.Strings(out)
	return out
}

func bgAllOn(nodes []string, prefix string) bool {
	for _, n := range nodes {
		if !strings.HasPrefix(n, prefix) {
			return false
		}
	}
	return len(nodes) > 0
}

// bgBalance starts `nrun sandbox balance`, as an operator would in a
// second terminal, and returns the NOMAD_ADDR it prints. The process is
// stopped, by its PID, when t ends.
func bgBalance(t *testing.T, e *env) string {
	t.Helper()
	cmd := exec.Command(e2etest.NrunBin, "sandbox", "balance")
	cmd.Dir, cmd.Env = e.Dir, e.Environ()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "export NOMAD_ADDR=")
	if err != nil || !ok {
		t.Fatalf("nrun sandbox balance printed %q (%v); stderr:\n%s", line, err, stderr.String())
	}
	go io.Copy(io.Discard, out)
	return addr
}

func bgConsulAddr(t *testing.T, sb *sandbox.Cluster) string {
	t.Helper()
	for _, kv := range sb.Env() {
		if v, ok := strings.CutPrefix(kv, "CONSUL_HTTP_ADDR="); ok {
			return "http://" + v
		}
	}
	t.Fatal("the sandbox has no CONSUL_HTTP_ADDR")
	return ""
}

// bgGetJSON decodes the answer to a GET of url, which must have status
// 200 or one of also.
func bgGetJSON(url string, out any, also ...int) error {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && !slices.Contains(also, resp.StatusCode) {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// bgCopyTree copies the regular files under src to dst, keeping their modes
// (sandbox.sh must stay executable).
func bgCopyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			if info.Name() == ".terraform" || info.Name() == ".nrun" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if !info.Mode().IsRegular() || strings.HasPrefix(info.Name(), "terraform.tfstate") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}
