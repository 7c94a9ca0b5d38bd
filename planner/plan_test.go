package planner

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// loadInventory reads testdata/inventory/NAME.json at the repository root.
func loadInventory(t testing.TB, name string) *cview.View {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "inventory", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var v cview.View
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// plan loads a runbook (path relative to planner/), reads its inputs and
// resolves it against an inventory.
func plan(t testing.TB, path string, varFiles []string, vars []string, inventory string) (*Plan, hcl.Diagnostics) {
	t.Helper()
	return planWith(t, path, varFiles, vars, inventory, ResolveOptions{})
}

// mustPlanSaved resolves as nrun plan -out does: with a fresh salt, so the
// plan records the hashes apply checks its inputs against.
func mustPlanSaved(t testing.TB, path string, varFiles []string, vars []string, inventory string) *Plan {
	t.Helper()
	p, diags := planWith(t, path, varFiles, vars, inventory, ResolveOptions{Salt: NewSalt()})
	if diags.HasErrors() {
		t.Fatalf("resolve %s: %s", path, diags.Error())
	}
	return p
}

func planWith(t testing.TB, path string, varFiles []string, vars []string, inventory string, opts ResolveOptions) (*Plan, hcl.Diagnostics) {
	t.Helper()
	rb, diags := lang.Load(path)
	if diags.HasErrors() {
		t.Fatalf("load %s: %s", path, diags.Error())
	}
	inputs, d := lang.InputValues(rb, vars, varFiles)
	if d.HasErrors() {
		t.Fatalf("inputs: %s", d.Error())
	}
	return Resolve(rb, inputs, loadInventory(t, inventory), opts)
}

func mustPlan(t testing.TB, path string, varFiles []string, vars []string, inventory string) *Plan {
	t.Helper()
	p, diags := plan(t, path, varFiles, vars, inventory)
	if diags.HasErrors() {
		t.Fatalf("resolve %s: %s", path, diags.Error())
	}
	return p
}

const (
	upgradeRunbook = "../runbooks/nomad-server-rolling-upgrade.nrun.hcl"
	drainRunbook   = "../runbooks/drain-node-pool.nrun.hcl"
	sandboxVars    = "../runbooks/sandbox.nrunvars.hcl"
)

func addrsOf(p *Plan, step string) []string {
	var out []string
	for _, in := range p.Instances {
		if in.Step.String() == step {
			out = append(out, in.Addr.String())
		}
	}
	return out
}

func TestResolveLeaderLast(t *testing.T) {
	tests := map[string]struct {
		path, inventory string
		step            string
		want            []string
	}{
		"all servers, leader s2": {upgradeRunbook, "healthy", "step.upgrade",
			[]string{`step.upgrade["s1.global"]`, `step.upgrade["s3.global"]`, `step.upgrade["s2.global"]`}},
		"filtered set holding the leader": {"testdata/plans/leader_filtered.nrun.hcl", "leader_filtered", "step.restart",
			[]string{`step.restart["blue-s1.global"]`, `step.restart["blue-s3.global"]`, `step.restart["blue-s2.global"]`}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var vf []string
			if tc.path == upgradeRunbook {
				vf = []string{sandboxVars}
			}
			p := mustPlan(t, tc.path, vf, nil, tc.inventory)
			if got := addrsOf(p, tc.step); !slices.Equal(got, tc.want) {
				t.Errorf("instances of %s = %q, want %q", tc.step, got, tc.want)
			}
			// The leader's work is in the last waves of that step.
			last := tc.want[len(tc.want)-1]
			var leaderWave, othersMax int
			for _, in := range p.Instances {
				if in.Wave < 0 || !strings.HasPrefix(in.Addr.String(), strings.TrimSuffix(tc.step, "")+"[") {
					continue
				}
				if strings.HasPrefix(in.Addr.String(), last) {
					leaderWave = max(leaderWave, in.Wave)
				} else {
					othersMax = max(othersMax, in.Wave)
				}
			}
			if leaderWave <= othersMax {
				t.Errorf("leader's instance in wave %d, others up to %d: leader must run last", leaderWave, othersMax)
			}
		})
	}
}

func TestResolveWavesAndDependsOn(t *testing.T) {
	p := mustPlan(t, drainRunbook, nil, nil, "healthy")
	want := [][]string{
		{`step.ineligible["c1"]`, `step.ineligible["c2"]`}, // max_parallel 5
		{`step.drain["c1"]`}, // max_parallel 1
		{`step.drain["c2"]`},
	}
	if !equalWaves(p.Waves, want) {
		t.Errorf("waves = %q, want %q", p.Waves, want)
	}
	c2 := p.Instance(`step.drain["c2"]`)
	if c2 == nil {
		t.Fatal("no step.drain[\"c2\"]")
	}
	if want := []string{`step.drain["c1"]`, "step.ineligible"}; !slices.Equal(c2.DependsOn, want) {
		t.Errorf("depends_on = %q, want %q", c2.DependsOn, want)
	}
	if c2.Glyph != GlyphDrain || c2.Target.Kind != lang.TargetNomadNode || c2.Target.ID != "0d0e0f00-0000-4000-8000-000000000002" {
		t.Errorf("drain c2: glyph %q target %+v", c2.Glyph, c2.Target)
	}
	if p.Summary != (Summary{Instances: 4, DrainNodes: 2}) {
		t.Errorf("summary = %+v", p.Summary)
	}
	// Every node the plan targets is fingerprinted.
	if len(p.Fingerprint.Nodes) != 2 || p.Fingerprint.Nodes["0d0e0f00-0000-4000-8000-000000000001"].ModifyIndex != 101 {
		t.Errorf("fingerprint nodes = %+v", p.Fingerprint.Nodes)
	}
}

func equalWaves(a, b [][]string) bool {
	return slices.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}

func TestResolveComposite(t *testing.T) {
	p := mustPlan(t, upgradeRunbook, []string{sandboxVars}, nil, "healthy")
	outer := p.Instance(`step.upgrade["s1.global"]`)
	if outer == nil || outer.Action != nil || outer.Wave != -1 {
		t.Fatalf("composite instance = %+v", outer)
	}
	wantInner := []string{`step.upgrade["s1.global"].step.stop`, `step.upgrade["s1.global"].step.swap`, `step.upgrade["s1.global"].step.start`}
	if !slices.Equal(outer.Inner, wantInner) {
		t.Errorf("inner = %q, want %q", outer.Inner, wantInner)
	}
	start := p.Instance(wantInner[2])
	if start.Parent != `step.upgrade["s1.global"]` || !slices.Equal(start.DependsOn, []string{wantInner[1]}) {
		t.Errorf("start: parent %q depends_on %q", start.Parent, start.DependsOn)
	}
	if start.Target.Name != "s1.global" || start.Action.Args[0].Value != `["nrun", "sandbox", "server", "start", "s1", "-version", "1.10.0"]` {
		t.Errorf("start: target %+v args %+v", start.Target, start.Action.Args)
	}
	if len(start.Waits) != 1 || start.Waits[0].Name != "server_healthy" || start.Waits[0].Timeout.String() != "5m0s" {
		t.Errorf("start waits = %+v", start.Waits)
	}
	// The next server's composite waits for this one (max_parallel 1).
	s3 := p.Instance(`step.upgrade["s3.global"]`)
	if !slices.Contains(s3.DependsOn, `step.upgrade["s1.global"]`) {
		t.Errorf("s3 depends_on = %q", s3.DependsOn)
	}
	if p.Summary.DisruptServers != 3 || p.Summary.Instances != 11 {
		t.Errorf("summary = %+v", p.Summary)
	}
	// Preconditions show live values.
	q := outer.Preconditions[0]
	if q.Name != "quorum_ok" || q.Now.Status != CheckOK || !strings.Contains(q.Now.Observed, "3/3 voters healthy") {
		t.Errorf("quorum_ok now = %+v", q.Now)
	}
	leader := p.Instance(`step.upgrade["s2.global"]`)
	if lnt := leader.Preconditions[1]; lnt.Now.Status != CheckHandled || lnt.Blocking {
		t.Errorf("leader_not_target with transfer on the leader = %+v", lnt)
	}
}

func TestResolveEdgeCases(t *testing.T) {
	t.Run("empty for_each", func(t *testing.T) {
		p := mustPlan(t, drainRunbook, nil, []string{"node_pool=gpu"}, "healthy")
		if len(p.Instances) != 0 || len(p.Waves) != 0 || p.Summary.Instances != 0 {
			t.Errorf("instances %d waves %q", len(p.Instances), p.Waves)
		}
		if p.Steps[1].Instances != 0 {
			t.Errorf("steps = %+v", p.Steps)
		}
	})
	t.Run("node down is filtered out", func(t *testing.T) {
		p := mustPlan(t, drainRunbook, nil, nil, "node_down")
		if got := addrsOf(p, "step.drain"); !slices.Equal(got, []string{`step.drain["c1"]`, `step.drain["c3"]`}) {
			t.Errorf("drain instances = %q", got)
		}
	})
	t.Run("single server is refused by the live safety analysis", func(t *testing.T) {
		p, diags := plan(t, upgradeRunbook, []string{sandboxVars}, nil, "single")
		var rules []string
		for _, d := range diags {
			rules = append(rules, RuleOf(d))
		}
		if !diags.HasErrors() || !slices.Contains(rules, RuleFailureTolerance) {
			t.Fatalf("want an NR-S002 error, got %s", diags.Error())
		}
		if p == nil || len(p.Diagnostics) == 0 || p.Diagnostics[0].Rule == "" {
			t.Errorf("plan diagnostics = %+v", p.Diagnostics)
		}
		if q := p.Instance(`step.upgrade["s1.global"]`).Preconditions[0]; q.Now.Status != CheckBlocked {
			t.Errorf("quorum_ok on a single server = %+v", q.Now)
		}
	})
	t.Run("required variable", func(t *testing.T) {
		_, diags := plan(t, "../runbooks/job-canary-rollout.nrun.hcl", nil, nil, "healthy")
		if !diags.HasErrors() || !strings.Contains(diags.Error(), "No value for required variable") {
			t.Errorf("diags = %s", diags.Error())
		}
	})
	t.Run("no nomad in the view", func(t *testing.T) {
		rb, _ := lang.Load(drainRunbook)
		_, diags := Resolve(rb, nil, &cview.View{}, ResolveOptions{})
		if !diags.HasErrors() || !strings.Contains(diags.Error(), "No Nomad nodes in the inventory") {
			t.Errorf("diags = %s", diags.Error())
		}
	})
}

func TestResolveFeatures(t *testing.T) {
	p := mustPlan(t, "testdata/plans/features.nrun.hcl", nil, []string{"token=s3cr3t"}, "healthy")
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("s3cr3t")) {
		t.Error("the sensitive value is in the plan")
	}
	// Without a salt (no -out) the plan records no hash, so it stays a pure
	// function of its inputs; a saved plan records a salted one.
	tok := p.Variables[0]
	if tok.Value != "(sensitive)" || tok.JSON != nil || tok.Hash != "" || p.InputSalt != "" {
		t.Errorf("token = %+v, salt %q", tok, p.InputSalt)
	}
	saved := mustPlanSaved(t, "testdata/plans/features.nrun.hcl", nil, []string{"token=s3cr3t"}, "healthy")
	if h := saved.Variables[0].Hash; !strings.HasPrefix(h, "hmac-sha256:") || saved.InputSalt == "" {
		t.Errorf("saved token hash = %q, salt %q", h, saved.InputSalt)
	}
	if a := p.Instance("step.probe").Action.Args[0]; !a.Sensitive || a.Value != "(sensitive)" {
		t.Errorf("probe command = %+v", a)
	}
	// step.probe's command uses the token, so its output may hold it in
	// any form: step.use, which passes that output on, is sensitive too.
	if a := p.Instance("step.use").Action.Args[0]; !a.Sensitive || a.Value != "(sensitive)" {
		t.Errorf("use command = %+v", a)
	}
	d := p.Instance(`step.drain["c1"]`)
	if !d.BlockedNow || d.Preconditions[0].Now.Reason != "node c1 still runs 1.9.4" {
		t.Errorf("custom precondition = %+v", d.Preconditions[0].Now)
	}
	if s := d.Preconditions[1].Now.Status; s != CheckUnknown {
		t.Errorf("http_ok status = %s", s)
	}
	if s := d.Preconditions[2].Now; s.Status != CheckOK {
		t.Errorf("deployment_successful = %+v", s)
	}
	if p.Fingerprint.Jobs["default/web"] != 512 {
		t.Errorf("fingerprint jobs = %+v", p.Fingerprint.Jobs)
	}
	// max_parallel 1 (2 would drain every node at once, NR-S011): one
	// drain per wave after step.use.
	if !equalWaves(p.Waves, [][]string{{"step.probe"}, {"step.use"}, {`step.drain["c1"]`}, {`step.drain["c2"]`}, {"step.restart_s1"}}) {
		t.Errorf("waves = %q", p.Waves)
	}
	if p.Summary != (Summary{Instances: 5, DisruptServers: 1, DrainNodes: 2, BlockedNow: 2}) {
		t.Errorf("summary = %+v", p.Summary)
	}
	if p.Steps[2].MaxFailures != "50%" {
		t.Errorf("max_failures = %q", p.Steps[2].MaxFailures)
	}
	if p.Steps[0].Description != "Read the agent's self endpoint | with a token." || p.Instance(`step.drain["c1"]`).Description != "Move the work off every client before the upgrade." {
		t.Errorf("descriptions: step %q, instance %q", p.Steps[0].Description, p.Instance(`step.drain["c1"]`).Description)
	}
	if len(p.Waivers) != 1 || p.Waivers[0] != (PlanWaiver{Step: "step.restart_s1", Rule: "NR-S004", Reason: "The nightly job took a snapshot an hour ago.", Used: true, Range: "testdata/plans/features.nrun.hcl:69,15"}) {
		t.Errorf("waivers = %+v", p.Waivers)
	}
	if r := p.Instance("step.restart_s1"); r.Target.ID != "a1b2c3d4-0000-4000-8000-000000000001" || r.Glyph != GlyphChange {
		t.Errorf("restart_s1 = %+v", r)
	}
}

// Same inputs, same bytes.
func TestResolveDeterministic(t *testing.T) {
	var first []byte
	for i := range 5 {
		p := mustPlan(t, "../runbooks/blue-green-image-migration.nrun.hcl", nil, nil, "leader_filtered")
		// The variable hashes are keyed with a random salt per plan by
		// design (TestPlanInputsSalted); everything else must be stable.
		p.InputSalt = ""
		for i := range p.Variables {
			p.Variables[i].Hash = ""
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = b
			continue
		}
		if !bytes.Equal(first, b) {
			t.Fatal("two plans of the same inputs differ")
		}
	}
}

// Every runbook in runbooks/ plans against an inventory.
func TestResolveRunbooks(t *testing.T) {
	files, err := filepath.Glob("../runbooks/*.nrun.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no runbooks: %v", err)
	}
	inputs := map[string]struct {
		varFiles, vars []string
		inventory      string
	}{
		"blue-green-image-migration.nrun.hcl":   {inventory: "leader_filtered"},
		"drain-node-pool.nrun.hcl":              {inventory: "healthy"},
		"job-canary-rollout.nrun.hcl":           {vars: []string{"version=2"}, inventory: "healthy"},
		"nomad-server-rolling-upgrade.nrun.hcl": {varFiles: []string{sandboxVars}, inventory: "healthy"},
		"nomad-client-rolling-upgrade.nrun.hcl": {vars: []string{"version=1.10.0", "mode=sandbox"}, inventory: "healthy"},
		// The inventory's Consul servers run 1.21.0: a newer version makes
		// the plan upgrade all three.
		"consul-server-rolling-upgrade.nrun.hcl": {vars: []string{"consul_version=1.21.1", "mode=sandbox"}, inventory: "healthy"},
		// The snapshot it restores must exist and read as one at plan
		// (NR-S012); relative to the runbook directory.
		"nomad-server-rollback.nrun.hcl": {varFiles: []string{sandboxVars}, vars: []string{"snapshot_path=../planner/testdata/safety/snapshots/nomad.snap"}, inventory: "healthy"},
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			in, ok := inputs[name]
			if !ok {
				t.Fatalf("add %s to this test's table", name)
			}
			p := mustPlan(t, f, in.varFiles, in.vars, in.inventory)
			if p.Summary.Instances == 0 {
				t.Error("no step instances")
			}
			for _, in := range p.Instances {
				if in.Action == nil && len(in.Inner) == 0 {
					t.Errorf("%s has neither action nor inner instances", in.Addr)
				}
			}
		})
	}
}

// The blue-green runbook's own guard shows in the plan: planned too late,
// when green servers are already in the cluster, their retire instances
// would block now.
func TestResolveBlueGreenGuard(t *testing.T) {
	p := mustPlan(t, "../runbooks/blue-green-image-migration.nrun.hcl", nil, nil, "leader_filtered")
	green := p.Instance(`step.blue_retire["green-s1.global"]`)
	blue := p.Instance(`step.blue_retire["blue-s1.global"]`)
	if green == nil || blue == nil {
		t.Fatal("missing blue_retire instances")
	}
	if !green.BlockedNow || blue.BlockedNow {
		t.Errorf("green blocked %v, blue blocked %v", green.BlockedNow, blue.BlockedNow)
	}
	// blue-s2 is the leader: last.
	got := addrsOf(p, "step.blue_retire")
	if got[len(got)-1] != `step.blue_retire["blue-s2.global"]` {
		t.Errorf("blue_retire order = %q", got)
	}
}

// A secret reaches the plan neither through a local computed from a
// sensitive variable nor through a for_each over one.
func TestResolveSensitiveThroughLocals(t *testing.T) {
	src := `
runbook "s" {}
variable "token" {
  type      = string
  sensitive = true
}
variable "hosts" {
  type      = map(string)
  sensitive = true
}
locals {
  header = "X-Token: ${var.token}"
  args   = ["-H", local.header]
}
step "call" {
  action "exec" {
    command = concat(["curl"], local.args)
    effect  = "none"
  }
}
step "each" {
  for_each = nonsensitive(toset(keys(var.hosts)))
  action "exec" {
    command = ["ping", var.hosts[each.key]]
    effect  = "none"
  }
}
`
	rb, diags := lang.Parse(map[string][]byte{"s.nrun.hcl": []byte(src)})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	inputs, diags := lang.InputValues(rb, []string{"token=hunter2", `hosts={a="secret-host"}`}, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	p, diags := Resolve(rb, inputs, loadInventory(t, "healthy"), ResolveOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	b, _ := json.Marshal(p)
	for _, secret := range []string{"hunter2", "secret-host"} {
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%q is in the plan:\n%s", secret, b)
		}
	}
	if a := p.Instance("step.call").Action.Args[0]; a.Value != "(sensitive)" {
		t.Errorf("command through locals = %+v", a)
	}
}

// TestResolveSensitivePreconditionMessage: a failing precondition whose
// error_message uses a sensitive variable must not print it in the plan.
func TestResolveSensitivePreconditionMessage(t *testing.T) {
	src := `
variable "pw" {
  type      = string
  sensitive = true
}
locals {
  said = "pw was ${var.pw}"
}
step "direct" {
  precondition {
    condition     = var.pw == "other"
    error_message = "pw was ${var.pw}"
  }
  action "sleep" { duration = "1s" }
}
step "via_local" {
  precondition {
    condition     = false
    error_message = local.said
  }
  action "sleep" { duration = "1s" }
}
step "public" {
  precondition {
    condition     = false
    error_message = "not yet"
  }
  action "sleep" { duration = "1s" }
}
`
	rb, diags := lang.Parse(map[string][]byte{"s.nrun.hcl": []byte(src)})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	inputs, diags := lang.InputValues(rb, []string{"pw=hunter2"}, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	p, diags := Resolve(rb, inputs, loadInventory(t, "healthy"), ResolveOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if b, _ := json.Marshal(p); bytes.Contains(b, []byte("hunter2")) {
		t.Errorf("the secret is in the plan:\n%s", b)
	}
	for addr, want := range map[string]string{"step.direct": "(sensitive)", "step.via_local": "(sensitive)", "step.public": "not yet"} {
		in := p.Instance(addr)
		if in == nil || len(in.Preconditions) != 1 || in.Preconditions[0].Now == nil {
			t.Fatalf("%s: no evaluated precondition: %+v", addr, in)
		}
		if got := in.Preconditions[0].Now.Reason; got != want {
			t.Errorf("%s: reason = %q, want %q", addr, got, want)
		}
	}
}

// TestResolveDefaultTarget: a for_each step without `target =` acts on
// each.value (LANGUAGE.md). The plan must name that server, count it as a
// server disruption, and evaluate quorum_ok with it down.
func TestResolveDefaultTarget(t *testing.T) {
	p := mustPlan(t, "testdata/plans/default_target.nrun.hcl", nil, nil, "healthy")
	got := map[string]string{}
	for _, in := range p.Instances {
		if in.Step.String() != "step.restart" {
			continue
		}
		got[in.Addr.String()] = string(in.Target.Kind) + " " + in.Target.Name
		if len(in.Preconditions) != 1 || in.Preconditions[0].Now == nil ||
			!strings.Contains(in.Preconditions[0].Now.Observed, "target "+in.Target.Name+" is a voter") {
			t.Errorf("%s: quorum_ok does not reason about its target: %+v", in.Addr, in.Preconditions)
		}
	}
	want := map[string]string{
		`step.restart["s1.global"]`: "nomad_server s1.global",
		`step.restart["s2.global"]`: "nomad_server s2.global",
		`step.restart["s3.global"]`: "nomad_server s3.global",
	}
	if !maps.Equal(got, want) {
		t.Errorf("targets = %v, want %v", got, want)
	}
	if p.Summary.DisruptServers != 3 {
		t.Errorf("Summary.DisruptServers = %d, want 3", p.Summary.DisruptServers)
	}
}

// A runbook of exec, sleep and approval steps needs no cluster: its plan
// records none and no fingerprint, even when given a view, so apply (which
// reads none for it) does not find the plan stale.
func TestResolveNoClusterNeeded(t *testing.T) {
	tests := map[string]struct {
		src   string
		needs bool
	}{
		"exec and sleep": {src: `
step "a" {
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
step "b" {
  depends_on = [step.a]
  precondition {
    condition     = true
    error_message = "never"
  }
  action "sleep" { duration = "1s" }
}`},
		"data source": {needs: true, src: `
data "nomad_servers" "all" {}
step "a" {
  action "approval" { message = "${length(data.nomad_servers.all.by_name)} servers" }
}`},
		"named check": {needs: true, src: `
step "a" {
  precondition "quorum_ok" {}
  action "sleep" { duration = "1s" }
}`},
		"cluster action": {needs: true, src: `
step "a" {
  action "nomad_snapshot_save" { path = "x.snap" }
}`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rb, diags := lang.Parse(map[string][]byte{"r.nrun.hcl": []byte(tc.src)})
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if got := NeedsCluster(rb); got != tc.needs {
				t.Fatalf("NeedsCluster = %v, want %v", got, tc.needs)
			}
			p, diags := Resolve(rb, nil, loadInventory(t, "healthy"), ResolveOptions{})
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			recorded := p.Fingerprint.Nomad != nil || p.Fingerprint.Consul != nil || p.Cluster.Nomad != nil
			if recorded != tc.needs || p.Cluster.NotNeeded == tc.needs {
				t.Errorf("cluster recorded = %v (not needed %v), want %v: %+v", recorded, p.Cluster.NotNeeded, tc.needs, p.Fingerprint)
			}
		})
	}
}

// A view whose addresses carry user:password@ (an old inventory file) is
// recorded in the plan without them.
func TestResolveAddressWithoutUserinfo(t *testing.T) {
	v := loadInventory(t, "healthy")
	v.Nomad.Address = "http://ops:pw-SECRET@10.0.0.11:4646"
	v.Consul.Address = "http://ops:pw-SECRET@10.0.0.11:8500"
	p := mustPlanView(t, v)
	b, _ := json.Marshal(p)
	if bytes.Contains(b, []byte("pw-SECRET")) || bytes.Contains(b, []byte("ops:")) {
		t.Errorf("credentials in the plan: %s", b)
	}
	if p.Cluster.Nomad.Address != "http://10.0.0.11:4646" {
		t.Errorf("nomad address = %q", p.Cluster.Nomad.Address)
	}
}

func mustPlanView(t *testing.T, v *cview.View) *Plan {
	t.Helper()
	rb, diags := lang.Parse(map[string][]byte{"r.nrun.hcl": []byte(`
data "nomad_servers" "all" {}
step "a" {
  action "approval" { message = "${length(data.nomad_servers.all.by_name)} servers" }
}`)})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	p, diags := Resolve(rb, nil, v, ResolveOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return p
}

// TestGlyphOfCatalog: every effect's glyph in the catalog is one the plan
// and the views know.
func TestGlyphOfCatalog(t *testing.T) {
	known := map[Glyph]bool{GlyphRead: true, GlyphChange: true, GlyphRemove: true, GlyphCreate: true, GlyphDrain: true, GlyphRestore: true}
	for _, e := range lang.Effects() {
		if !known[GlyphOf(e)] {
			t.Errorf("effect %q: glyph %q is not a planner Glyph", e, GlyphOf(e))
		}
	}
}

// max_parallel may be a variable: the plan records its value, and the
// safety analysis at plan uses it (two of three servers at once lose
// quorum, one does not).
func TestResolveMaxParallelFromVariable(t *testing.T) {
	const src = `
variable "n" {
  type = number
}

variable "wait_for" {
  type    = string
  default = "7m"
}

data "nomad_servers" "all" {}

step "snapshot" {
  action "nomad_snapshot_save" {
    path = "pre.snap"
  }
}

step "restart" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = var.n
  timeout      = var.wait_for == "7m" ? "20m" : "1h"
  depends_on   = [step.snapshot]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["ssh", each.value.host, "sudo", "systemctl", "restart", "nomad"]
    effect  = "restart"
  }
  wait "server_healthy" {
    timeout = var.wait_for
  }
}
`
	view := loadInventory(t, "healthy")
	for n, wantS002 := range map[string]bool{"1": false, "2": true} {
		t.Run("n="+n, func(t *testing.T) {
			p, diags := planSrc(t, src, []string{"n=" + n}, view)
			var rules []string
			for _, d := range diags {
				rules = append(rules, RuleOf(d))
			}
			if slices.Contains(rules, RuleFailureTolerance) != wantS002 {
				t.Fatalf("NR-S002 reported: %v, want %v: %s", !wantS002, wantS002, diags.Error())
			}
			if wantS002 {
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if p.Steps[1].MaxParallel != 1 {
				t.Errorf("max_parallel = %d", p.Steps[1].MaxParallel)
			}
			in := p.Instances[1]
			if in.Timeout != Duration(20*time.Minute) || in.Waits[0].Timeout != Duration(7*time.Minute) {
				t.Errorf("timeouts: step %s, wait %s", in.Timeout, in.Waits[0].Timeout)
			}
		})
	}
	t.Run("from a data source, resolved at plan", func(t *testing.T) {
		_, diags := planSrc(t, strings.Replace(src, "max_parallel = var.n", "max_parallel = length(data.nomad_servers.all.names) - 2", 1), []string{"n=1"}, view)
		if diags.HasErrors() {
			t.Fatalf("3 - 2 = 1 at a time is safe: %s", diags.Error())
		}
	})
	t.Run("invalid at plan", func(t *testing.T) {
		_, diags := planSrc(t, strings.Replace(src, "max_parallel = var.n", "max_parallel = length(data.nomad_servers.all.names) - 3", 1), []string{"n=1"}, view)
		if !slices.ContainsFunc(diags, func(d *hcl.Diagnostic) bool {
			return d.Summary == "Invalid max_parallel value" && d.Subject != nil && d.Subject.Start.Line == 22
		}) {
			t.Fatalf("want Invalid max_parallel value on line 22, got %v", diags)
		}
	})
}

// A step whose enabled is false has no instances; what depends on it waits
// for what it depended on, through a chain of disabled steps; a reference
// to its output is an error.
func TestResolveEnabled(t *testing.T) {
	const src = `
variable "on" {
  type    = bool
  default = false
}
step "a" {
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
step "b" {
  enabled    = var.on
  depends_on = [step.a]
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
step "c" {
  enabled    = !var.on && false
  depends_on = [step.b]
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
step "d" {
  depends_on = [step.c]
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
`
	view := loadInventory(t, "healthy")
	p, diags := planSrc(t, src, nil, view)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if got := len(p.Instances); got != 2 {
		t.Fatalf("%d instances, want a and d", got)
	}
	if d := p.Instance("step.d"); d == nil || !slices.Equal(d.DependsOn, []string{"step.a"}) || d.Wave != 1 {
		t.Errorf("step.d = %+v", d)
	}
	if s := p.Steps[1]; !s.Disabled || s.DisabledBy != "var.on" || len(s.DependsOn) != 1 {
		t.Errorf("step.b = %+v", s)
	}
	p, diags = planSrc(t, src, []string{"on=true"}, view)
	if diags.HasErrors() || len(p.Instances) != 3 || p.Steps[1].Disabled {
		t.Fatalf("enabled: %d instances, %s", len(p.Instances), diags.Error())
	}

	_, diags = planSrc(t, src+`
step "e" {
  action "exec" {
    command = ["echo", step.b.output]
    effect  = "none"
  }
}
`, nil, view)
	if !slices.ContainsFunc(diags, func(d *hcl.Diagnostic) bool { return d.Summary == "Reference to a disabled step" }) {
		t.Errorf("want a reference to a disabled step, got %v", diags)
	}
}
