package planner

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/internal/rbgen"
	"github.com/nrun-dev/nrun/lang"
)

// analyse parses one runbook source and runs the graph and the safety
// analysis over it, returning every diagnostic.
//
// A fixture with a `# inventory: NAME` line is analysed at plan instead:
// resolved against testdata/inventory/NAME.json with the values of its
// `# var: NAME=VALUE` lines, so the names it gives are checked as what
// they are in that cluster.
func analyse(t testing.TB, name string, src []byte, opts SafetyOptions) (*SafetyReport, hcl.Diagnostics) {
	t.Helper()
	rb, diags := lang.Parse(map[string][]byte{name: src})
	if rb == nil {
		return nil, diags
	}
	if inv, vars := planDirectives(src); inv != "" {
		inputs, d := lang.InputValues(rb, vars, nil)
		if d.HasErrors() {
			t.Fatalf("inputs: %s", d.Error())
		}
		p, pd := Resolve(rb, inputs, loadInventory(t, inv), ResolveOptions{})
		rep := &SafetyReport{}
		for _, w := range p.Waivers {
			rep.Waivers = append(rep.Waivers, Waiver{Rule: w.Rule, Reason: w.Reason, Used: w.Used})
		}
		return rep, append(diags, pd...)
	}
	if opts.NomadVoters == 0 && opts.ConsulVoters == 0 && opts.DataCounts == nil {
		// The whole offline pipeline, safety pass included; the report
		// is computed again for its waivers.
		g, vdiags := Validate(rb, nil)
		rep, _ := CheckSafety(rb, g, opts)
		return rep, append(diags, vdiags...)
	}
	diags = append(diags, lang.Validate(rb, nil)...)
	g, gdiags := BuildGraph(rb)
	diags = append(diags, gdiags...)
	rep, sdiags := CheckSafety(rb, g, opts)
	return rep, append(diags, sdiags...)
}

var ruleComment = regexp.MustCompile(`NR-S[0-9]{3}`)

// planDirectives reads a fixture's `# inventory: NAME` and `# var: K=V`
// lines.
func planDirectives(src []byte) (inventory string, vars []string) {
	for _, line := range strings.Split(string(src), "\n") {
		if v, ok := strings.CutPrefix(line, "# inventory: "); ok {
			inventory = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "# var: "); ok {
			vars = append(vars, strings.TrimSpace(v))
		}
	}
	return inventory, vars
}

// expectedRules reads the `# NR-S00X` comments that end code lines: the
// rules that must be reported with a Subject on that line. Comment-only
// lines are prose and may name rules freely.
func expectedRules(src []byte) map[string]int {
	want := map[string]int{}
	for i, line := range strings.Split(string(src), "\n") {
		code, comment, ok := strings.Cut(line, "#")
		if !ok || strings.TrimSpace(code) == "" {
			continue
		}
		for _, r := range ruleComment.FindAllString(comment, -1) {
			want[fmt.Sprintf("%d:%s", i+1, r)]++
		}
	}
	return want
}

func diagKey(d *hcl.Diagnostic) string {
	line := 0
	if d.Subject != nil {
		line = d.Subject.Start.Line
	}
	return fmt.Sprintf("%d:%s", line, RuleOf(d))
}

func fixtureFiles(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "safety", dir, "*.nrun.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// TestSafetyUnsafe checks that each unsafe fixture yields exactly the rule
// diagnostics its comments name, on those lines, and no other error.
func TestSafetyUnsafe(t *testing.T) {
	files := fixtureFiles(t, "unsafe")
	if len(files) < 32 {
		t.Errorf("%d unsafe fixtures, want at least 32", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := expectedRules(src)
			if len(want) == 0 {
				t.Fatalf("%s names no expected rule", path)
			}
			_, diags := analyse(t, filepath.Base(path), src, SafetyOptions{})
			got := map[string]int{}
			for _, d := range diags {
				if RuleOf(d) == "" {
					if d.Severity == hcl.DiagError {
						t.Errorf("unexpected error: %s", d)
					}
					continue
				}
				got[diagKey(d)]++
				checkDiagShape(t, d)
			}
			for k, n := range want {
				if got[k] != n {
					t.Errorf("want %d× %s, got %d", n, k, got[k])
				}
			}
			for k, n := range got {
				if want[k] == 0 {
					t.Errorf("unexpected %d× %s: %s", n, k, findDiag(diags, k))
				}
			}
		})
	}
}

// TestSafetySafe checks that each safe fixture yields no error and no
// safety warning.
func TestSafetySafe(t *testing.T) {
	files := fixtureFiles(t, "safe")
	if len(files) < 22 {
		t.Errorf("%d safe fixtures, want at least 22", len(files))
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			rep, diags := analyse(t, filepath.Base(path), src, SafetyOptions{})
			for _, d := range diags {
				if d.Severity == hcl.DiagError || RuleOf(d) != "" {
					t.Errorf("%s", d)
				}
			}
			for _, w := range rep.Waivers {
				if !w.Used {
					t.Errorf("waiver of %s on %s is not needed", w.Rule, w.Step)
				}
			}
		})
	}
}

func findDiag(diags hcl.Diagnostics, key string) string {
	for _, d := range diags {
		if diagKey(d) == key {
			return d.Error() + " — " + d.Detail
		}
	}
	return ""
}

// checkDiagShape holds every safety diagnostic to the house style.
func checkDiagShape(t *testing.T, d *hcl.Diagnostic) {
	t.Helper()
	if d.Subject == nil || d.Context == nil || d.Subject.Filename == "" {
		t.Errorf("%s: safety diagnostics need a Subject and a Context", d.Summary)
	}
	if !strings.HasSuffix(d.Summary, "("+RuleOf(d)+")") {
		t.Errorf("summary %q must end with the rule ID", d.Summary)
	}
	if !strings.HasSuffix(strings.TrimSpace(d.Detail), ".") || len(d.Detail) < 60 {
		t.Errorf("detail %q must be full sentences saying how to fix it", d.Detail)
	}
}

// TestSafetyRunbooks requires every example runbook to be safe as written:
// no error, no safety warning and no waiver.
func TestSafetyRunbooks(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "runbooks", "*.nrun.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("runbooks/ has no .nrun.hcl file: the examples this test guards are gone")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			rb, diags := lang.Load(path)
			if rb == nil {
				t.Fatalf("load: %s", diags)
			}
			g, vdiags := Validate(rb, nil)
			diags = append(diags, vdiags...)
			rep, _ := CheckSafety(rb, g, SafetyOptions{})
			for _, d := range diags {
				if d.Severity == hcl.DiagError || RuleOf(d) != "" {
					t.Errorf("%s — %s", d, d.Detail)
				}
			}
			if len(rep.Waivers) != 0 {
				t.Errorf("example runbooks must not waive safety rules: %+v", rep.Waivers)
			}
		})
	}
}

// TestSafetyWaiver checks that allow_unsafe suppresses exactly the named
// rule and reports the waiver.
func TestSafetyWaiver(t *testing.T) {
	src := `
data "nomad_servers" "all" {}
step "restart" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 1
  precondition "quorum_ok" {}
  allow_unsafe {
    rules  = ["NR-S004"]
    reason = "a snapshot was taken by hand"
  }
  action "exec" {
    command = ["true"]
    effect  = "restart"
  }
  wait "server_healthy" { timeout = "5m" }
}
`
	rep, diags := analyse(t, "w.nrun.hcl", []byte(src), SafetyOptions{})
	for _, d := range diags {
		t.Errorf("%s", d)
	}
	if len(rep.Waivers) != 1 || rep.Waivers[0].Rule != RuleSnapshotFirst || !rep.Waivers[0].Used ||
		rep.Waivers[0].Reason != "a snapshot was taken by hand" || rep.Waivers[0].Step.String() != "step.restart" {
		t.Fatalf("waivers = %+v", rep.Waivers)
	}
}

// TestSafetyLiveCounts checks that the options' counts replace the
// offline worst case.
func TestSafetyLiveCounts(t *testing.T) {
	src := `
data "nomad_servers" "all" {}
step "snap" {
  action "nomad_snapshot_save" { path = "x.snap" }
}
step "restart" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 2
  depends_on   = [step.snap]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["true"]
    effect  = "restart"
  }
  wait "server_healthy" { timeout = "5m" }
}
`
	tests := map[string]struct {
		opts SafetyOptions
		fail bool
	}{
		"offline assumes 3":  {SafetyOptions{}, true},
		"5 live voters":      {SafetyOptions{NomadVoters: 5}, false},
		"inventory counts 5": {SafetyOptions{DataCounts: map[string]int{"data.nomad_servers.all": 5}}, false},
		"4 live voters":      {SafetyOptions{NomadVoters: 4}, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, diags := analyse(t, "c.nrun.hcl", []byte(src), tc.opts)
			failed := false
			for _, d := range diags {
				if RuleOf(d) == RuleFailureTolerance {
					failed = true
				} else {
					t.Errorf("unexpected %s", d)
				}
			}
			if failed != tc.fail {
				t.Errorf("NR-S002 reported = %v, want %v (%s)", failed, tc.fail, diags)
			}
		})
	}
}

// serverRunbook generates n server steps in chains of width w: each step
// restarts servers, depends on the step w places before it, and is safe.
func serverRunbook(n, w int) []byte {
	var b strings.Builder
	b.WriteString("data \"nomad_servers\" \"all\" {}\n")
	b.WriteString("step \"snap\" {\n  action \"nomad_snapshot_save\" { path = \"x.snap\" }\n}\n")
	for i := range n {
		dep := "step.snap"
		if i >= w {
			dep = fmt.Sprintf("step.s%d", i-w)
		} else if i > 0 {
			dep = fmt.Sprintf("step.s%d", i-1)
		}
		// The first w steps form one chain, so the whole runbook is a
		// set of w interleaved chains joined at the start: an antichain
		// of width w exists only among non-server steps.
		kind := "restart"
		target := "\n  target = data.nomad_servers.all.leader"
		if i%w != 0 {
			kind, target = "none", ""
		}
		fmt.Fprintf(&b, "step \"s%d\" {\n  depends_on = [%s]%s\n  precondition \"quorum_ok\" {}\n  action \"exec\" {\n    command = [\"true\"]\n    effect  = %q\n  }\n  wait \"server_healthy\" { timeout = \"5m\" }\n}\n", i, dep, target, kind)
	}
	return []byte(b.String())
}

// unorderedRunbook generates n server restarts that all depend on one
// snapshot and nothing else.
func unorderedRunbook(n int) []byte {
	var b strings.Builder
	b.WriteString("data \"nomad_servers\" \"all\" {}\n")
	b.WriteString("step \"snap\" {\n  action \"nomad_snapshot_save\" { path = \"x.snap\" }\n}\n")
	for i := range n {
		fmt.Fprintf(&b, "step \"s%d\" {\n  depends_on = [step.snap]\n  target = data.nomad_servers.all.leader\n  precondition \"quorum_ok\" {}\n  action \"exec\" {\n    command = [\"true\"]\n    effect  = \"restart\"\n  }\n  wait \"server_healthy\" { timeout = \"5m\" }\n}\n", i)
	}
	return []byte(b.String())
}

func benchmarkSafety(b *testing.B, src []byte) {
	rb, diags := lang.Parse(map[string][]byte{"bench.nrun.hcl": src})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	g, _ := BuildGraph(rb)
	g.Ancestor(g.Order()[0], g.Order()[1]) // build the ancestor bitsets outside the timer
	b.ResetTimer()
	cpu0, ok := safetyCPU()
	for b.Loop() {
		_, sdiags := CheckSafety(rb, g, SafetyOptions{})
		if sdiags.HasErrors() {
			b.Fatal(sdiags)
		}
	}
	if cpu1, ok1 := safetyCPU(); ok && ok1 {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
	}
}

// BenchmarkSafety analyses 2,000 steps: the rbgen runbook (mostly steps
// that touch no server) and one where every step of a chain restarts
// servers.
func BenchmarkSafety(b *testing.B) {
	b.Run("rbgen-2000", func(b *testing.B) {
		benchmarkSafety(b, rbgen.Generate(rbgen.Options{Steps: 2000, ForEachKeys: 50, Seed: 1}))
	})
	b.Run("servers-2000", func(b *testing.B) {
		benchmarkSafety(b, serverRunbook(2000, 4))
	})
	b.Run("unordered-servers-2000", func(b *testing.B) {
		// Every server step is unordered with every other: the worst
		// case for NR-S002's repeated search.
		src := unorderedRunbook(2000)
		rb, _ := lang.Parse(map[string][]byte{"bench.nrun.hcl": src})
		g, _ := BuildGraph(rb)
		g.Ancestor(g.Order()[0], g.Order()[1])
		b.ResetTimer()
		cpu0, ok := safetyCPU()
		for b.Loop() {
			CheckSafety(rb, g, SafetyOptions{})
		}
		if cpu1, ok1 := safetyCPU(); ok && ok1 {
			b.ReportMetric(float64(cpu1-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
		}
	})
}

// TestEveryRuleHasFixtures holds the rules to LANGUAGE.md's promise: each
// has at least one failing fixture.
func TestEveryRuleHasFixtures(t *testing.T) {
	seen := map[string]bool{}
	for _, path := range fixtureFiles(t, "unsafe") {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for k := range expectedRules(src) {
			_, rule, _ := strings.Cut(k, ":")
			seen[rule] = true
		}
	}
	for _, r := range Rules {
		if !seen[r] {
			t.Errorf("no unsafe fixture expects %s", r)
		}
	}
}

// nomadClientRules are the rules about Nomad client nodes only, which
// have no Consul variant: NR-S006 (drain client nodes before destroying
// them), NR-S009 (Nomad servers before Nomad clients) and NR-S011 (room
// for drained work).
var nomadClientRules = map[string]bool{RuleDrainBeforeDestroy: true, RuleServersFirst: true, RuleCapacity: true}

// TestEveryRuleHasConsulFixture holds the cluster typing to account: each
// server rule has a failing fixture on Consul servers (a file named
// *consul*), so a Nomad-only shortcut in a rule cannot pass unseen.
func TestEveryRuleHasConsulFixture(t *testing.T) {
	seen := map[string]bool{}
	for _, path := range fixtureFiles(t, "unsafe") {
		if !strings.Contains(filepath.Base(path), "consul") {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for k := range expectedRules(src) {
			_, rule, _ := strings.Cut(k, ":")
			seen[rule] = true
		}
	}
	for _, r := range Rules {
		if !seen[r] && !nomadClientRules[r] {
			t.Errorf("no unsafe Consul fixture expects %s", r)
		}
	}
}

// TestSafetyNoPanic runs the analysis over every runbook fixture of the
// repository, broken ones included: it must never panic, and whatever it
// reports must have the house shape.
func TestSafetyNoPanic(t *testing.T) {
	var files []string
	for _, root := range []string{"testdata", filepath.Join("..", "lang", "testdata"), filepath.Join("..", "runbooks")} {
		filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".nrun.hcl") {
				files = append(files, path)
			}
			return nil
		})
	}
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic: %v", path, r)
				}
			}()
			for _, opts := range []SafetyOptions{{}, {NomadVoters: 1, ConsulVoters: 2, DataCounts: map[string]int{"data.nomad_servers.all": 0}}} {
				rb, _ := lang.Parse(map[string][]byte{filepath.Base(path): src})
				g, _ := BuildGraph(rb)
				_, diags := CheckSafety(rb, g, opts)
				for _, d := range diags {
					if RuleOf(d) != "" {
						checkDiagShape(t, d)
					}
				}
			}
		}()
	}
}

// FuzzSafety feeds arbitrary sources through parse, graph and safety
// analysis; nothing may panic.
func FuzzSafety(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "safety", "*", "*.nrun.hcl"))
	for _, path := range files {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		rb, _ := lang.Parse(map[string][]byte{"fuzz.nrun.hcl": src})
		g, _ := BuildGraph(rb)
		CheckSafety(rb, g, SafetyOptions{})
	})
}

// TestSafetyCases covers behaviour that fixtures with line comments cannot
// show: options, waivers on composites, unknown rule IDs, report fields.
func TestSafetyCases(t *testing.T) {
	const restartFollowers = `
data "nomad_servers" "all" {}
step "snap" {
  action "nomad_snapshot_save" { path = "x.snap" }
}
step "restart" {
  for_each     = data.nomad_servers.all.followers
  max_parallel = 2
  depends_on   = [step.snap]
  precondition "quorum_ok" {}
  precondition "leader_not_target" {}
  action "exec" {
    command = ["true"]
    effect  = "restart"
  }
  wait "server_healthy" { timeout = "5m" }
}
`
	const compositeWaiver = `
data "nomad_servers" "all" {}
step "retire" {
  for_each = data.nomad_servers.all.by_name
  order    = "leader_last"
  precondition "quorum_ok" {}
  allow_unsafe {
    rules  = ["NR-S004", "NR-S007"]
    reason = "lab cluster"
  }
  step "leave" {
    action "nomad_server_force_leave" {}
  }
}
`
	const unknownRule = `
step "noop" {
  allow_unsafe {
    rules  = ["NR-S099"]
    reason = "typo"
  }
  action "sleep" { duration = "1s" }
}
`
	tests := map[string]struct {
		src        string
		opts       SafetyOptions
		wantRules  []string // rule IDs reported, in order
		wantErrors []string // summaries of non-rule errors
		wantUsed   map[string]bool
		wantVoters int
	}{
		"followers of 3 assumed": {
			src: restartFollowers, wantRules: []string{RuleFailureTolerance}, wantVoters: 3,
		},
		"followers of 5 from inventory": {
			src:        restartFollowers,
			opts:       SafetyOptions{DataCounts: map[string]int{"data.nomad_servers.all": 5}},
			wantVoters: 5,
		},
		"followers of 4 live": {
			// 4 voters tolerate 1; 2 of the 3 followers at once is too many.
			src: restartFollowers, opts: SafetyOptions{NomadVoters: 4},
			wantRules: []string{RuleFailureTolerance}, wantVoters: 4,
		},
		"composite waiver covers inner steps": {
			src:        compositeWaiver,
			wantUsed:   map[string]bool{RuleSnapshotFirst: true, RuleNoRejoin: true},
			wantVoters: 3,
		},
		"unknown rule id": {
			src: unknownRule, wantErrors: []string{"Unknown safety rule"}, wantVoters: 3,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rb, diags := lang.Parse(map[string][]byte{"case.nrun.hcl": []byte(tc.src)})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			g, _ := BuildGraph(rb)
			rep, diags := CheckSafety(rb, g, tc.opts)
			var rules, errs []string
			for _, d := range diags {
				if r := RuleOf(d); r != "" {
					rules = append(rules, r)
				} else if d.Severity == hcl.DiagError {
					errs = append(errs, d.Summary)
				}
			}
			if !slices.Equal(rules, tc.wantRules) {
				t.Errorf("rules = %v, want %v (%s)", rules, tc.wantRules, diags)
			}
			if !slices.Equal(errs, tc.wantErrors) {
				t.Errorf("errors = %v, want %v", errs, tc.wantErrors)
			}
			for _, w := range rep.Waivers {
				if w.Used != tc.wantUsed[w.Rule] {
					t.Errorf("waiver %s used = %v, want %v", w.Rule, w.Used, tc.wantUsed[w.Rule])
				}
			}
			if len(rep.Waivers) != len(tc.wantUsed) {
				t.Errorf("waivers = %+v, want %d", rep.Waivers, len(tc.wantUsed))
			}
			if rep.NomadVoters != tc.wantVoters {
				t.Errorf("NomadVoters = %d, want %d", rep.NomadVoters, tc.wantVoters)
			}
		})
	}
}

// TestSafetyLiveScope checks that a planner scope with live data counts
// the for_each instances and the voters.
func TestSafetyLiveScope(t *testing.T) {
	src := `
data "nomad_servers" "all" {}
step "snap" {
  action "nomad_snapshot_save" { path = "x.snap" }
}
step "restart" {
  for_each     = data.nomad_servers.all.by_name
  order        = "leader_last"
  max_parallel = 2
  depends_on   = [step.snap]
  precondition "quorum_ok" {}
  action "exec" {
    command = ["true"]
    effect  = "restart"
  }
  wait "server_healthy" { timeout = "5m" }
}
`
	server := func(name string) cty.Value {
		attrs := map[string]cty.Value{}
		for a, ty := range lang.ServerType.AttributeTypes() {
			attrs[a] = cty.UnknownVal(ty)
		}
		attrs["name"] = cty.StringVal(name)
		return cty.ObjectVal(attrs)
	}
	for n, wantFail := range map[int]bool{3: true, 4: true, 5: false} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			rb, diags := lang.Parse(map[string][]byte{"live.nrun.hcl": []byte(src)})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			byName := map[string]cty.Value{}
			for i := range n {
				byName[fmt.Sprintf("s%d", i)] = server(fmt.Sprintf("s%d", i))
			}
			sc, _ := lang.NewScope(rb, nil)
			sc.SetData("nomad_servers.all", cty.ObjectVal(map[string]cty.Value{
				"by_name":   cty.MapVal(byName),
				"leader":    server("s0"),
				"followers": cty.UnknownVal(cty.Map(lang.ServerType)),
				"names":     cty.UnknownVal(cty.List(cty.String)),
			}))
			g, _ := BuildGraph(rb)
			rep, diags := CheckSafety(rb, g, SafetyOptions{Scope: sc})
			failed := false
			for _, d := range diags {
				failed = failed || RuleOf(d) == RuleFailureTolerance
			}
			if failed != wantFail || rep.NomadVoters != max(n, 3) {
				t.Errorf("NR-S002 = %v, want %v; voters %d (%s)", failed, wantFail, rep.NomadVoters, diags)
			}
		})
	}
}

// TestFailureToleranceMatchesAntichains generates runbooks of transient
// server restarts on random DAGs and checks NR-S002 end to end against the
// definition: a violation exists exactly when some set of mutually
// unordered steps, each with min(max_parallel, voters) servers down, takes
// more servers down than the voters tolerate.
func TestFailureToleranceMatchesAntichains(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	outcomes := map[bool]int{}
	defer func() {
		if outcomes[true] < 10 || outcomes[false] < 10 {
			t.Errorf("generator too one-sided: %v", outcomes)
		}
	}()
	for trial := range 150 {
		voters := 3 + r.IntN(5)
		n := 1 + r.IntN(6)
		par := make([]int, n)
		preds := make([][]int, n)
		var b strings.Builder
		fmt.Fprintf(&b, "variable \"server_count\" {\n  type    = number\n  default = %d\n}\n", voters)
		b.WriteString("data \"nomad_servers\" \"all\" {}\n")
		b.WriteString("step \"snap\" {\n  action \"nomad_snapshot_save\" {\n    path = \"x.snap\"\n  }\n  wait \"servers_healthy\" {\n    count   = var.server_count\n    timeout = \"1m\"\n  }\n}\n")
		for i := range n {
			par[i] = 1 + r.IntN(3)
			deps := []string{"step.snap"}
			for j := range i {
				if r.IntN(3) == 0 {
					preds[i] = append(preds[i], j)
					deps = append(deps, fmt.Sprintf("step.s%d", j))
				}
			}
			fmt.Fprintf(&b, "step \"s%d\" {\n  for_each     = data.nomad_servers.all.by_name\n  order        = \"leader_last\"\n  max_parallel = %d\n  depends_on   = [%s]\n  precondition \"quorum_ok\" {}\n  action \"exec\" {\n    command = [\"true\"]\n    effect  = \"restart\"\n  }\n  wait \"server_healthy\" {\n    timeout = \"5m\"\n  }\n}\n",
				i, par[i], strings.Join(deps, ", "))
		}
		// Brute force over subsets: reachability, then antichains.
		reach := make([][]bool, n)
		for i := range n {
			reach[i] = make([]bool, n)
			for _, p := range preds[i] {
				reach[i][p] = true
				for k := range n {
					if reach[p][k] {
						reach[i][k] = true
					}
				}
			}
		}
		worst := 0
		for set := 1; set < 1<<n; set++ {
			down, ok := 0, true
			for i := range n {
				if set&(1<<i) == 0 {
					continue
				}
				down += min(par[i], voters)
				for j := range n {
					if set&(1<<j) != 0 && reach[i][j] {
						ok = false
					}
				}
			}
			if ok {
				worst = max(worst, down)
			}
		}
		tolerance := voters - (voters/2 + 1)
		want := worst > tolerance
		outcomes[want]++

		_, diags := analyse(t, "gen.nrun.hcl", []byte(b.String()), SafetyOptions{})
		got := false
		for _, d := range diags {
			switch {
			case RuleOf(d) == RuleFailureTolerance:
				got = true
			case d.Severity == hcl.DiagError:
				t.Fatalf("trial %d: unexpected %s\n%s", trial, d, b.String())
			}
		}
		if got != want {
			t.Fatalf("trial %d: NR-S002 reported = %v, want %v (worst %d down, %d voters)\n%s", trial, got, want, worst, voters, b.String())
		}
	}
}
