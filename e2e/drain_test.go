package e2e

import (
	"context"
	"fmt"
	"github.com/nrun-dev/nrun/e2e/e2etest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/planfile"
	"github.com/nrun-dev/nrun/sandbox"
)

// moverJob is a service job that may run in any pool (node_pool "all"),
// so the drain of the batch pool can move it, with a migrate block that
// lets Nomad move one allocation at a time.
const moverJob = `
job "mover" {
  type      = "service"
  node_pool = "all"

  group "mover" {
    count = 4

    migrate {
      max_parallel     = 1
      health_check     = "task_states"
      min_healthy_time = "3s"
      healthy_deadline = "1m"
    }

    task "sleep" {
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

// moverCount and moverMaxParallel are moverJob's count and
// migrate.max_parallel: the drain may never leave fewer than
// moverCount-moverMaxParallel allocations running.
const (
	moverCount       = 4
	moverMaxParallel = 1
)

// TestDrainNodePool drains the three clients of pool "batch" with
// runbooks/drain-node-pool.nrun.hcl while a 4-allocation job runs on them,
// and checks with the job's own allocations, sampled through blocking
// queries all along the apply, that the job never has fewer than
// count - migrate.max_parallel allocations running.
func TestDrainNodePool(t *testing.T) {
	spec := sandbox.Spec{
		Servers: []sandbox.ServerSpec{{Name: "s1"}},
		// The receiving clients come first: newEnv points NOMAD_ADDR at
		// the first client, and it should not be one being drained.
		Clients: []sandbox.ClientSpec{
			{Name: "m1"}, {Name: "m2"},
			{Name: "b1", NodePool: "batch"}, {Name: "b2", NodePool: "batch"}, {Name: "b3", NodePool: "batch"},
		},
	}
	e := newEnv(t, spec)
	c := e.Nomad()

	nodes := e.WaitNodes(5)
	var batch, other []*nomad.NodeListStub
	for _, n := range nodes {
		if n.NodePool == "batch" {
			batch = append(batch, n)
		} else {
			other = append(other, n)
		}
	}
	if len(batch) != 3 || len(other) != 2 {
		t.Fatalf("want 3 batch nodes and 2 others, got %d and %d", len(batch), len(other))
	}

	// Place the job on the batch pool only: the other nodes are
	// ineligible while it is registered, eligible again before the drain.
	setEligible(t, c, other, false)
	path := filepath.Join(e.Dir, "mover.nomad.hcl")
	if err := os.WriteFile(path, []byte(moverJob), 0o644); err != nil {
		t.Fatal(err)
	}
	e.RegisterJob(path, nil, moverCount)
	setEligible(t, c, other, true)
	onBatch := e.allocNodes("mover")
	for node, n := range onBatch {
		if !isIn(node, batch) {
			t.Fatalf("before the drain, %d allocations run on %s, not in pool batch: %v", n, node, onBatch)
		}
	}
	t.Logf("before the drain: %v", onBatch)

	rb := filepath.Join(e2etest.RunbooksDir(t), "drain-node-pool.nrun.hcl")
	planFile := filepath.Join(e.Dir, "drain.nrunplan")
	r := e.Nrun("plan", "-detailed-exitcode", "-no-color", "-out", planFile, "-var", "node_pool=batch", "-var", "deadline=3m", rb)
	if r.Code != exitChangesCode {
		t.Fatalf("plan: want exit %d\n%s", exitChangesCode, r)
	}
	for _, n := range batch {
		if !strings.Contains(r.Stdout, fmt.Sprintf("step.drain[%q]", n.Name)) {
			t.Errorf("plan does not drain %s:\n%s", n.Name, r.Stdout)
		}
	}
	for _, n := range other {
		if strings.Contains(r.Stdout, fmt.Sprintf("[%q]", n.Name)) {
			t.Errorf("plan touches %s, which is not in pool batch:\n%s", n.Name, r.Stdout)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mon := e.WatchRunning(ctx, "mover")
	drains := e.watchDrains(ctx)
	r = e.Nrun("apply", "-json", "-auto-approve", planFile)
	t.Logf("apply took %s", r.Took.Round(time.Second))
	if r.Code != 0 {
		t.Fatalf("apply: want exit 0\n%s", r)
	}
	events := e2etest.ApplyEvents(t, r.Stdout)

	// A drain finishes when the node's last allocation is terminal; its
	// replacement may still be starting on a receiving node. The watch
	// goes on until every allocation runs again, so the floor holds over
	// the whole migration, not only over the apply.
	e2etest.Eventually(t, "every allocation of mover running on the receiving nodes", 2*time.Minute, func() (bool, string) {
		got := e.allocNodes("mover")
		n := 0
		for node, k := range got {
			if isIn(node, other) {
				n += k
			}
		}
		return n == moverCount, fmt.Sprintf("%v", got)
	})
	cancel()
	samples := mon.Wait()
	drained := drains.wait()

	floor := moverCount - moverMaxParallel
	low, lowAt := moverCount, ""
	for _, s := range samples {
		if s.Running < low {
			low, lowAt = s.Running, s.String()
		}
	}
	t.Logf("%d samples of the running count; lowest %d:\n%s", len(samples), low, sampleLines(samples))
	if len(samples) < 10 {
		t.Errorf("only %d samples of the running count during the apply; the watch did not follow the drain", len(samples))
	}
	if low < floor {
		t.Errorf("the job's running count fell to %d (%s), below count - migrate.max_parallel = %d", low, lowAt, floor)
	}
	// The watch must have seen the move itself, not only its ends.
	if len(samples) > 0 {
		first, last := samples[0], samples[len(samples)-1]
		for node := range first.ByNode {
			if !isIn(node, batch) {
				t.Errorf("the first e2etest.Sample already has allocations off pool batch (%s); the watch started late", first)
			}
		}
		for node := range last.ByNode {
			if isIn(node, batch) {
				t.Errorf("the last e2etest.Sample still has allocations in pool batch (%s); the watch stopped early", last)
			}
		}
	}

	// One node at a time: each drain instance starts after the previous
	// one has finished.
	type span struct {
		addr       string
		start, end time.Time
	}
	var spans []span
	for _, n := range batch {
		addr := fmt.Sprintf("step.drain[%q]", n.Name)
		s := span{addr: addr, start: events.First(addr, "action_start"), end: events.First(addr, "instance_complete")}
		if s.start.IsZero() || s.end.IsZero() {
			t.Errorf("apply events have no action start or finish for %s", addr)
			continue
		}
		spans = append(spans, s)
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start.Before(spans[j].start) })
	for i := 1; i < len(spans); i++ {
		if spans[i].start.Before(spans[i-1].end) {
			t.Errorf("%s started at %s, before %s finished at %s: the pool was not drained one node at a time",
				spans[i].addr, spans[i].start.Format(time.StampMilli), spans[i-1].addr, spans[i-1].end.Format(time.StampMilli))
		}
	}

	// Does Nomad mark a drain complete while the node's last allocations
	// are still stopping? Raft indexes order the two writes: the drain's
	// completion lies in (last index seen draining, first index seen
	// complete], the last allocation's terminal update in (last index it
	// was seen live, first index the node was seen empty]. Disjoint
	// intervals settle it; the e2etest.Result is logged, as it is Nomad's
	// behaviour and nrun must not depend on it (see below).
	for _, n := range batch {
		d := drained[n.Name]
		lastLive, firstEmpty := liveSpan(samples, n.Name)
		switch {
		case d.done == 0 || firstEmpty == 0:
			t.Logf("%s: drain or allocations not followed to the end", n.Name)
		case d.done <= lastLive:
			t.Logf("%s: Nomad marked its drain complete (index <= %d) while an allocation was still live (index %d)", n.Name, d.done, lastLive)
		case firstEmpty <= d.draining:
			t.Logf("%s: the last allocation was terminal (index <= %d) before Nomad marked the drain complete (index > %d)", n.Name, firstEmpty, d.draining)
		default:
			t.Logf("%s: drain complete in (%d, %d], last allocation terminal in (%d, %d]: not ordered by this run", n.Name, d.draining, d.done, lastLive, firstEmpty)
		}
	}

	// nrun's drain instance must finish only after the last task on the
	// node has stopped, whatever Nomad says of the drain.
	for _, n := range batch {
		addr := fmt.Sprintf("step.drain[%q]", n.Name)
		finished := events.First(addr, "instance_complete")
		stopped := e.lastTaskStop(n.ID)
		t.Logf("%s: the last task stopped at %s, nrun's drain finished at %s", n.Name, stamp(stopped), stamp(finished))
		if stopped.IsZero() {
			t.Errorf("%s: no stopped task found on the node after its drain", n.Name)
		} else if finished.Before(stopped) {
			t.Errorf("%s finished at %s, before the node's last task stopped at %s", addr, stamp(finished), stamp(stopped))
		}
	}

	// Every batch node is drained (its drain complete, no allocation of the
	// job left) and ineligible; every allocation runs on the other nodes.
	for _, n := range batch {
		nd, _, err := c.Nodes().Info(n.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if nd.SchedulingEligibility != nomad.NodeSchedulingIneligible {
			t.Errorf("node %s: eligibility %s after the drain, want ineligible", nd.Name, nd.SchedulingEligibility)
		}
		if nd.DrainStrategy != nil || nd.LastDrain == nil || nd.LastDrain.Status != nomad.DrainStatusComplete {
			t.Errorf("node %s: drain strategy %v, last drain %+v; want no drain under way and the last one complete", nd.Name, nd.DrainStrategy, nd.LastDrain)
		}
		allocs, _, err := c.Nodes().Allocations(n.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range allocs {
			if a.ClientStatus == nomad.AllocClientStatusRunning || a.ClientStatus == nomad.AllocClientStatusPending {
				t.Errorf("node %s still has allocation %s of %s %s", nd.Name, a.ID[:8], a.JobID, a.ClientStatus)
			}
		}
	}
	after := e.allocNodes("mover")
	total := 0
	for node, n := range after {
		if !isIn(node, other) {
			t.Errorf("after the drain, %d allocations of mover run on %s, not on a receiving node", n, node)
		}
		total += n
	}
	if total != moverCount {
		t.Errorf("after the drain, %d allocations of mover run, want %d: %v", total, moverCount, after)
	}
	t.Logf("after the drain: %v", after)
}

// exitChangesCode is nrun plan -detailed-exitcode's exit code for a plan
// with instances (without the flag a successful plan exits 0).
const exitChangesCode = 2

func setEligible(t *testing.T, c *nomad.Client, nodes []*nomad.NodeListStub, eligible bool) {
	t.Helper()
	for _, n := range nodes {
		if _, err := c.Nodes().ToggleEligibility(n.ID, eligible, nil); err != nil {
			t.Fatalf("eligibility of %s: %v", n.Name, err)
		}
	}
}

func isIn(name string, nodes []*nomad.NodeListStub) bool {
	for _, n := range nodes {
		if n.Name == name {
			return true
		}
	}
	return false
}

// allocNodes counts job's running allocations by node name.
func (e *env) allocNodes(job string) map[string]int {
	e.T.Helper()
	allocs, _, err := e.Nomad().Jobs().Allocations(job, false, nil)
	if err != nil {
		e.T.Fatal(err)
	}
	out := map[string]int{}
	for _, a := range allocs {
		if a.ClientStatus == nomad.AllocClientStatusRunning {
			out[a.NodeName]++
		}
	}
	return out
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "(never)"
	}
	return t.UTC().Format("15:04:05.000")
}

// lastTaskStop is when the last task of the allocations on node stopped.
func (e *env) lastTaskStop(node string) time.Time {
	e.T.Helper()
	allocs, _, err := e.Nomad().Nodes().Allocations(node, nil)
	if err != nil {
		e.T.Fatal(err)
	}
	var last time.Time
	for _, a := range allocs {
		for _, ts := range a.TaskStates {
			if ts.FinishedAt.After(last) {
				last = ts.FinishedAt
			}
		}
	}
	return last
}

func sampleLines(ss []e2etest.Sample) string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// liveSpan is the last e2etest.Sample index at which node still had a pending or
// running allocation of the job, and the first later index at which it had
// none; 0 when not seen.
func liveSpan(samples []e2etest.Sample, node string) (lastLive, firstEmpty uint64) {
	for _, s := range samples {
		if s.Live[node] > 0 {
			lastLive, firstEmpty = s.Index, 0
		} else if lastLive > 0 && firstEmpty == 0 {
			firstEmpty = s.Index
		}
	}
	return lastLive, firstEmpty
}

// drainIndexes are the node-list indexes around a node's drain: the last
// at which it was seen draining, the first at which its drain was over
// and complete.
type drainIndexes struct{ draining, done uint64 }

// drainWatch records drainIndexes per node name.
type drainWatch struct {
	wg    sync.WaitGroup
	nodes map[string]drainIndexes
}

func (w *drainWatch) wait() map[string]drainIndexes {
	w.wg.Wait()
	return w.nodes
}

// watchDrains follows the node list with blocking queries until ctx ends.
func (e *env) watchDrains(ctx context.Context) *drainWatch {
	w := &drainWatch{nodes: map[string]drainIndexes{}}
	e.FollowNodes(ctx, &w.wg, func(nodes []*nomad.NodeListStub, index uint64) {
		for _, n := range nodes {
			d := w.nodes[n.Name]
			switch {
			case n.Drain:
				d.draining = index
			case d.draining > 0 && d.done == 0 && n.LastDrain != nil && n.LastDrain.Status == nomad.DrainStatusComplete:
				d.done = index
			}
			w.nodes[n.Name] = d
		}
	})
	return w
}

// TestPlanTerraformPreview plans the Terraform fixture of the planner's
// tests (planner/testdata/terraform) against a live sandbox: nrun plan runs
// terraform init and plan and shows Terraform's summary; the saved plan,
// which carries that summary, still applies; and a plan made afterwards
// shows what the applies left (step.down scaled the members to zero).
func TestPlanTerraformPreview(t *testing.T) {
	e := newEnv(t, sandbox.Spec{Servers: []sandbox.ServerSpec{{Name: "s1"}}})
	src, err := filepath.Abs(filepath.Join("..", "planner", "testdata", "terraform"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(e.Dir, "tf")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	rb := filepath.Join(dir, "preview.nrun.hcl")
	const secret = "hunter2-s3cret"
	pw := "db_password=" + secret
	noSecret := func(r e2etest.Result) {
		t.Helper()
		if strings.Contains(r.Stdout+r.Stderr, secret) {
			t.Errorf("the sensitive variable's value is printed:\n%s", r)
		}
	}

	r := e.Nrun("plan", "-detailed-exitcode", "-no-color", "-var", pw, rb)
	noSecret(r)
	if r.Code != exitChangesCode {
		t.Fatalf("plan: want exit %d\n%s", exitChangesCode, r)
	}
	for _, want := range []string{
		"      terraform plan in ./infra: Plan: 3 to add, 0 to change, 0 to destroy.\n" +
			"        + terraform_data.credentials\n" +
			"        + terraform_data.member[0]\n" +
			"        + terraform_data.member[1]\n" +
			"        outputs: + members, + password (sensitive)\n",
		"terraform plan: known after apply: step.up applies ./infra first",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("plan output lacks %q:\n%s", want, r.Stdout)
		}
	}

	planFile := filepath.Join(e.Dir, "tf.nrunplan")
	noSecret(e.mustNrunCode(exitChangesCode, "plan", "-detailed-exitcode", "-out", planFile, "-var", pw, rb))
	file, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	// The plan file's payload is the plan JSON (package planfile).
	saved, err := planfile.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(saved), `"status": "planned"`) {
		t.Errorf("the saved plan has no Terraform summary:\n%s", saved)
	}
	r = e.Nrun("apply", "-no-color", "-auto-approve", "-var", pw, planFile)
	noSecret(r)
	if r.Code != 0 {
		t.Fatalf("apply of the saved plan: want exit 0\n%s", r)
	}

	r = e.Nrun("plan", "-no-color", "-var", pw, rb)
	noSecret(r)
	if want := "terraform plan in ./infra: Plan: 2 to add, 0 to change, 0 to destroy."; !strings.Contains(r.Stdout, want) {
		t.Errorf("after the apply, the plan lacks %q:\n%s", want, r.Stdout)
	}

	// apply PATH shows the same summary in the plan it prints first.
	r = e.Nrun("apply", "-no-color", "-auto-approve", "-var", pw, rb)
	noSecret(r)
	if r.Code != 0 {
		t.Fatalf("apply: want exit 0\n%s", r)
	}
	if want := "terraform plan in ./infra: Plan: 2 to add, 0 to change, 0 to destroy."; !strings.Contains(r.Stdout, want) {
		t.Errorf("apply's plan lacks %q:\n%s", want, r.Stdout)
	}
}

// mustNrunCode runs nrun and fails the test unless it exits with code.
func (e *env) mustNrunCode(code int, args ...string) e2etest.Result {
	e.T.Helper()
	r := e.Nrun(args...)
	if r.Code != code {
		e.T.Fatalf("want exit %d\n%s", code, r)
	}
	return r
}
