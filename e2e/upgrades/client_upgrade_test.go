package upgrades

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/nrun-dev/nrun/e2e/e2etest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/sandbox"
)

const clientUpgradeRunbook = "nomad-client-rolling-upgrade.nrun.hcl"

// clientUpgradeSpec is a sandbox whose servers run serverVersions (one
// server per entry) and four clients c1..c4 on the old version, with no
// Consul (the procedure touches Nomad clients only).
func clientUpgradeSpec(serverVersions ...string) sandbox.Spec {
	var spec sandbox.Spec
	for i, v := range serverVersions {
		spec.Servers = append(spec.Servers, sandbox.ServerSpec{Name: fmt.Sprintf("s%d", i+1), Version: v})
	}
	for i := 1; i <= 4; i++ {
		spec.Clients = append(spec.Clients, sandbox.ClientSpec{Name: fmt.Sprintf("c%d", i), Version: sandbox.OldNomadVersion})
	}
	return spec
}

// clientEnv starts the sandbox and the demo job (one allocation per
// client) and points NOMAD_ADDR at server s1, which the procedure never
// restarts: every client is.
func clientEnv(t *testing.T, spec sandbox.Spec) *env {
	e := newEnv(t, spec)
	for _, a := range e.SB.Agents() {
		if a.Kind == sandbox.NomadServer && a.Name == "s1" {
			e.Vars["NOMAD_ADDR"] = "http://" + a.HTTPAddr()
		}
	}
	e.WaitNodes(4)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := e.SB.RunDemoJob(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// clientState is what a node looks like after (or instead of) its upgrade.
type clientState struct {
	version, status, eligibility string
	drain                        bool
}

func (e *env) clients() map[string]clientState {
	e.T.Helper()
	list, _, err := e.Nomad().Nodes().List(nil)
	if err != nil {
		e.T.Fatal(err)
	}
	out := map[string]clientState{}
	for _, n := range list {
		out[n.Name] = clientState{version: n.Version, status: n.Status, eligibility: n.SchedulingEligibility, drain: n.Drain}
	}
	return out
}

// outWatch follows the node list with blocking queries and records, at
// every change, which clients are out of service: ineligible, draining,
// or not ready. The most seen at once must not exceed max_parallel.
type outWatch struct {
	wg     sync.WaitGroup
	mu     sync.Mutex
	most   int
	mostAt string
	ever   map[string]bool // every client ever seen out
	reads  int
}

func (e *env) watchOut(ctx context.Context) *outWatch {
	w := &outWatch{ever: map[string]bool{}}
	e.FollowNodes(ctx, &w.wg, func(nodes []*nomad.NodeListStub, index uint64) {
		var out []string
		for _, n := range nodes {
			if n.Drain || n.SchedulingEligibility != nomad.NodeSchedulingEligible || n.Status != nomad.NodeStatusReady {
				out = append(out, fmt.Sprintf("%s(%s,%s,drain=%v)", n.Name, n.Status, n.SchedulingEligibility, n.Drain))
			}
		}
		sort.Strings(out)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.reads++
		for _, o := range out {
			name, _, _ := strings.Cut(o, "(")
			w.ever[name] = true
		}
		if len(out) > w.most {
			w.most, w.mostAt = len(out), fmt.Sprintf("index %d: %s", index, strings.Join(out, " "))
		}
	})
	return w
}

func (w *outWatch) wait() *outWatch {
	w.wg.Wait()
	return w
}

// actionSpan is how long one instance's action took, from apply -json.
func actionSeconds(l e2etest.ApplyEventList, addr string) time.Duration {
	start, end := l.First(addr, "action_start"), l.First(addr, "action_complete")
	if start.IsZero() || end.IsZero() {
		return 0
	}
	return end.Sub(start)
}

// TestNomadClientRollingUpgrade runs runbooks/nomad-client-rolling-upgrade
// on a fresh sandbox: four clients on the old version with the demo job.
//
// First with one server still on the old version: the plan shows the gate
// blocked and apply refuses before touching any client. Then, once every
// server runs the new version, two clients at a time (max_parallel from a
// variable): every client ends on the new version, ready and eligible,
// the demo job running on them, and a watch of the node list never saw
// more than two clients out of service at once.
func TestNomadClientRollingUpgrade(t *testing.T) {
	e := clientEnv(t, clientUpgradeSpec(sandbox.DefaultNomadVersion, sandbox.DefaultNomadVersion, sandbox.OldNomadVersion))
	rb := e2etest.CopyRunbook(t, e.Dir, clientUpgradeRunbook)
	vars := []string{"-var", "version=" + sandbox.DefaultNomadVersion, "-var", "mode=sandbox"}
	before := e.clients()

	// A server older than the clients would become: refused.
	r := e.Nrun(append(append([]string{"plan", "-no-color"}, vars...), rb)...)
	if r.Code != 0 {
		t.Fatalf("plan: %s", r)
	}
	if !strings.Contains(r.Stdout, "1 blocked now") || !strings.Contains(r.Stdout, "s3.global") {
		t.Errorf("the plan does not show the gate blocked by s3 on %s:\n%s", sandbox.OldNomadVersion, r.Stdout)
	}
	r = e.Nrun(append(append([]string{"apply", "-json", "-auto-approve"}, vars...), rb)...)
	t.Logf("refused apply took %s", r.Took.Round(time.Millisecond))
	if r.Code != 1 {
		t.Fatalf("apply with s3 on %s: want exit 1\n%s", sandbox.OldNomadVersion, r)
	}
	events := e2etest.ApplyEvents(t, r.Stdout)
	for _, ev := range events {
		if strings.HasPrefix(ev.Instance.Addr, "step.upgrade") && ev.Kind != "instance_skipped" {
			t.Errorf("a client instance ran although a server is older: %s %s", ev.Kind, ev.Instance.Addr)
		}
	}
	for _, l := range strings.Split(r.Stdout, "\n") {
		var m struct {
			Message string `json:"@message"`
			Kind    string `json:"type"`
		}
		if json.Unmarshal([]byte(l), &m) == nil && m.Kind == "precondition" {
			t.Logf("refusal: %s", m.Message)
		}
	}
	if !strings.Contains(r.Stdout, "servers_version") || !strings.Contains(r.Stdout, "s3.global") {
		t.Errorf("the refusal does not name servers_version and s3:\n%s", r.Stdout)
	}
	if after := e.clients(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("the refused apply changed the clients:\nbefore %v\nafter  %v", before, after)
	}

	// The server upgrade finished: s3 on the new version.
	ctx := context.Background()
	if err := e.SB.StopServer(ctx, "s3"); err != nil {
		t.Fatal(err)
	}
	if err := e.SB.StartServer(ctx, "s3", sandbox.DefaultNomadVersion); err != nil {
		t.Fatal(err)
	}

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	out := e.watchOut(wctx)
	demo := e.WatchRunning(wctx, sandbox.DemoJob)
	vars = append(vars, "-var", "max_parallel=2")
	r = e.Nrun(append(append([]string{"apply", "-json", "-auto-approve"}, vars...), rb)...)
	wall := r.Took
	if r.Code != 0 {
		t.Fatalf("apply: want exit 0\n%s", r)
	}
	events = e2etest.ApplyEvents(t, r.Stdout)
	e.WaitRunning(sandbox.DemoJob, 4, 2*time.Minute)
	stop()
	w := out.wait()
	samples := demo.Wait()

	// Every client upgraded, ready, eligible.
	for name, c := range e.clients() {
		if c.version != sandbox.DefaultNomadVersion || c.status != nomad.NodeStatusReady || c.eligibility != nomad.NodeSchedulingEligible || c.drain {
			t.Errorf("%s after the upgrade: %+v", name, c)
		}
	}
	// The servers were not touched: every voter healthy, one may fail.
	e2etest.Eventually(t, "autopilot healthy with failure tolerance 1", time.Minute, func() (bool, string) {
		h, err := e.SB.AutopilotHealth()
		if err != nil {
			return false, err.Error()
		}
		return h.Healthy && h.FailureTolerance == 1, fmt.Sprintf("healthy %v, failure tolerance %d", h.Healthy, h.FailureTolerance)
	})
	// At most max_parallel clients out of service at once, and the watch
	// saw every one of them go out (it followed the whole run).
	t.Logf("node watch: %d reads, most out at once %d (%s)", w.reads, w.most, w.mostAt)
	if w.most > 2 {
		t.Errorf("%d clients were out of service at once, more than max_parallel = 2: %s", w.most, w.mostAt)
	}
	if len(w.ever) != 4 {
		t.Errorf("the watch saw %d clients out of service, want all 4: %v", len(w.ever), w.ever)
	}
	// The demo job runs on the upgraded clients, every task running.
	allocs, _, err := e.Nomad().Jobs().Allocations(sandbox.DemoJob, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, a := range allocs {
		if a.ClientStatus != nomad.AllocClientStatusRunning {
			continue
		}
		running++
		for task, ts := range a.TaskStates {
			if ts.State != "running" || ts.Failed {
				t.Errorf("demo allocation %s on %s: task %s is %s (failed %v)", a.ID[:8], a.NodeName, task, ts.State, ts.Failed)
			}
		}
	}
	if running != 4 {
		t.Errorf("%d demo allocations running after the upgrade, want 4", running)
	}
	low := 4
	for _, s := range samples {
		if s.Running < low {
			low = s.Running
		}
	}
	t.Logf("demo job: %d samples, lowest running count %d of 4", len(samples), low)

	// The floor: what no runbook can skip, Nomad's migrations (drain) and
	// each agent's boot and registration (start), two clients at a time.
	var floor time.Duration
	for i := 1; i <= 4; i++ {
		c := fmt.Sprintf("c%d", i)
		drain := actionSeconds(events, fmt.Sprintf("step.upgrade[%q].step.drain", c))
		start := actionSeconds(events, fmt.Sprintf("step.upgrade[%q].step.start", c))
		t.Logf("%s: drain %s, start until registered again %s", c, drain.Round(100*time.Millisecond), start.Round(100*time.Millisecond))
		floor += drain + start
	}
	floor /= 2
	t.Logf("nomad-client-rolling-upgrade, 4 clients, max_parallel 2: wall time %s, floor %s (drains and agent starts / 2)",
		wall.Round(100*time.Millisecond), floor.Round(100*time.Millisecond))
	if floor == 0 {
		t.Errorf("no drain or start action in the apply's events:\n%s", r.Stdout)
	}
}

// TestNomadClientRollingUpgradeFailureBudget makes two clients fail to
// come back: client_versions maps c2 and c3 to a version the sandbox has
// no binary for, so their start fails after they were drained and
// stopped. One at a time, c1 upgrades, c2's failure is within
// max_failures = 1, c3's exceeds it: the run stops there, c4 is never
// touched, apply exits 1, and the output and the run's log say why.
func TestNomadClientRollingUpgradeFailureBudget(t *testing.T) {
	e := clientEnv(t, clientUpgradeSpec(sandbox.DefaultNomadVersion))
	rb := e2etest.CopyRunbook(t, e.Dir, clientUpgradeRunbook)
	varFile := filepath.Join(e.Dir, "broken.nrunvars.hcl")
	if err := os.WriteFile(varFile, []byte(fmt.Sprintf(`version = %q
mode    = "sandbox"
client_versions = {
  c2 = "0.0.1"
  c3 = "0.0.1"
}
`, sandbox.DefaultNomadVersion)), 0o644); err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(context.Background())
	defer stop()
	out := e.watchOut(wctx)
	r := e.Nrun("apply", "-json", "-auto-approve", "-var-file", varFile, rb)
	stop()
	w := out.wait()
	t.Logf("apply with two clients that cannot start took %s", r.Took.Round(100*time.Millisecond))
	if r.Code != 1 {
		t.Fatalf("apply: want exit 1\n%s", r)
	}
	events := e2etest.ApplyEvents(t, r.Stdout)
	started := func(c string) bool {
		return !events.First(fmt.Sprintf("step.upgrade[%q]", c), "instance_start").IsZero()
	}
	for _, c := range []string{"c1", "c2", "c3"} {
		if !started(c) {
			t.Errorf("%s never started", c)
		}
	}
	if started("c4") || w.ever["c4"] {
		t.Errorf("c4 was touched after the failure budget was exceeded (started %v, seen out of service %v)", started("c4"), w.ever["c4"])
	}
	for _, want := range []string{
		"within max_failures = 1: 1 of 4 instances of step.upgrade failed; the run goes on",
		"max_failures = 1 exceeded: 2 of 4 instances of step.upgrade failed; no further instance of it starts",
		"no nomad 0.0.1",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("the apply output lacks %q\n%s", want, r.Stdout)
		}
	}
	// The run's log says it too.
	logs, _ := filepath.Glob(filepath.Join(filepath.Dir(rb), ".nrun", "runs", "*", "run.log"))
	found := false
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err == nil && strings.Contains(string(b), "max_failures = 1 exceeded") {
			found = true
		}
	}
	if !found {
		t.Errorf("no run log under .nrun/runs says the budget was exceeded (logs %q)", logs)
	}
	// And the journal: nrun status lists c2 and c3 failed, c4 not started.
	sr := e.Nrun("status", rb)
	if sr.Code != 2 {
		t.Errorf("nrun status: want exit 2 (the run did not finish)\n%s", sr)
	}
	for _, want := range []string{
		`^  finished +step\.upgrade\["c1"\]$`,
		`^  failed +step\.upgrade\["c2"\]: `,
		`^  failed +step\.upgrade\["c3"\]: `,
		`^  not started +step\.upgrade\["c4"\]$`,
	} {
		if !regexp.MustCompile("(?m)" + want).MatchString(sr.Stdout) {
			t.Errorf("nrun status lacks a line matching %s\n%s", want, sr.Stdout)
		}
	}
	st := e.clients()
	t.Logf("clients after the run: %+v", st)
	if c := st["c1"]; c.version != sandbox.DefaultNomadVersion || c.eligibility != nomad.NodeSchedulingEligible || c.status != nomad.NodeStatusReady {
		t.Errorf("c1, upgraded before the failures: %+v", c)
	}
	for _, n := range []string{"c2", "c3"} {
		if c := st[n]; c.eligibility != nomad.NodeSchedulingIneligible || c.version != sandbox.OldNomadVersion {
			t.Errorf("%s, which could not start, must stay ineligible on its old version: %+v", n, c)
		}
	}
	if c := st["c4"]; c.version != sandbox.OldNomadVersion || c.eligibility != nomad.NodeSchedulingEligible || c.status != nomad.NodeStatusReady || c.drain {
		t.Errorf("c4, never started, must be as before: %+v", c)
	}
	// The demo job's work moved to the clients still in service.
	e.WaitRunning(sandbox.DemoJob, 4, 2*time.Minute)
}
