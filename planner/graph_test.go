package planner

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/nrun-dev/nrun/addrs"
	"github.com/nrun-dev/nrun/lang"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/graph")

// irBuilder builds step IR by hand, giving every dependency its own line so
// tests can tell which declaration an edge kept.
type irBuilder struct{ line int }

// dep is one dependency of a test step: "x" is a depends_on element naming
// step x (or sibling x inside a composite), "ref:x" a step.x reference,
// "x.y" names inner step y of composite x.
func (b *irBuilder) refs(outer string, deps []string) (dependsOn, refs []lang.StepRef) {
	for _, d := range deps {
		isRef := strings.HasPrefix(d, "ref:")
		d = strings.TrimPrefix(d, "ref:")
		a := addrs.Step{Outer: outer, Name: d}
		if o, n, ok := strings.Cut(d, "."); ok {
			a = addrs.Step{Outer: o, Name: n}
		} else if top, ok := strings.CutPrefix(d, "^"); ok {
			a = addrs.TopStep(top) // an inner step naming a top-level step
		}
		b.line++
		r := lang.StepRef{Addr: a, Range: rng(b.line)}
		if isRef {
			refs = append(refs, r)
		} else {
			dependsOn = append(dependsOn, r)
		}
	}
	return dependsOn, refs
}

func rng(line int) hcl.Range {
	return hcl.Range{
		Filename: "test.nrun.hcl",
		Start:    hcl.Pos{Line: line, Column: 3, Byte: line * 100},
		End:      hcl.Pos{Line: line, Column: 9, Byte: line*100 + 6},
	}
}

func (b *irBuilder) step(name string, deps ...string) *lang.Step {
	s := &lang.Step{Addr: addrs.TopStep(name), Name: name, Action: &lang.Action{Type: "sleep"}}
	b.line++
	s.DeclRange, s.Body = rng(b.line), rng(b.line)
	s.DependsOn, s.Refs = b.refs("", deps)
	return s
}

// composite builds a composite step; inner lists "name:dep,dep" strings.
func (b *irBuilder) composite(name string, deps []string, inner ...string) *lang.Step {
	s := b.step(name, deps...)
	s.Action = nil
	for _, spec := range inner {
		n, ds, _ := strings.Cut(spec, ":")
		var innerDeps []string
		if ds != "" {
			innerDeps = strings.Split(ds, ",")
		}
		in := &lang.Step{Addr: addrs.Step{Outer: name, Name: n}, Name: n, Outer: s, Action: &lang.Action{Type: "exec"}}
		b.line++
		in.DeclRange, in.Body = rng(b.line), rng(b.line)
		in.DependsOn, in.Refs = b.refs(name, innerDeps)
		s.Steps = append(s.Steps, in)
	}
	return s
}

func runbook(steps ...*lang.Step) *lang.Runbook { return &lang.Runbook{Steps: steps} }

// names renders addresses compactly for comparisons.
func names(as []addrs.Step) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = strings.TrimPrefix(a.String(), "step.")
	}
	return strings.Join(s, " ")
}

func wavesString(ws [][]addrs.Step) string {
	s := make([]string, len(ws))
	for i, w := range ws {
		s[i] = "[" + names(w) + "]"
	}
	return strings.Join(s, " ")
}

func mustBuild(t *testing.T, rb *lang.Runbook) *Graph {
	t.Helper()
	g, diags := BuildGraph(rb)
	if diags.HasErrors() {
		t.Fatalf("unexpected diagnostics: %s", diags.Error())
	}
	return g
}

func TestOrderAndWaves(t *testing.T) {
	tests := map[string]struct {
		steps  func(b *irBuilder) []*lang.Step
		order  string
		waves  string
		golden string // testdata/graph/<golden>.dot, when set
	}{
		"empty": {
			steps: func(b *irBuilder) []*lang.Step { return nil },
			order: "",
			waves: "",
		},
		"independent steps keep declaration order": {
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{b.step("c"), b.step("a"), b.step("b")}
			},
			order: "c a b",
			waves: "[c a b]",
		},
		"chain declared backwards": {
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{b.step("c", "b"), b.step("b", "a"), b.step("a")}
			},
			order:  "a b c",
			waves:  "[a] [b] [c]",
			golden: "chain",
		},
		"diamond": {
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{
					b.step("snapshot"),
					b.step("left", "snapshot"),
					b.step("right", "ref:snapshot"),
					b.step("join", "right", "left"),
				}
			},
			order:  "snapshot left right join",
			waves:  "[snapshot] [left right] [join]",
			golden: "diamond",
		},
		"ties broken by declaration, not by readiness time": {
			// x becomes ready after a, but was declared before b, so it
			// runs before b.
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{b.step("a"), b.step("x", "a"), b.step("b")}
			},
			order: "a x b",
			waves: "[a b] [x]",
		},
		"longest path decides the wave": {
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{
					b.step("a"), b.step("b", "a"), b.step("c", "b"),
					b.step("d", "a", "c"), b.step("e"),
				}
			},
			order: "a b c d e",
			waves: "[a e] [b] [c] [d]",
		},
		"composite steps are single vertices": {
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{
					b.step("snapshot"),
					b.composite("retire", []string{"snapshot"}, "stop", "swap:stop", "start:swap"),
					b.step("verify", "retire"),
					// lang rejects naming an inner step from outside; the
					// graph orders against the whole composite.
					b.step("late", "retire.swap"),
				}
			},
			order:  "snapshot retire verify late",
			waves:  "[snapshot] [retire] [verify late]",
			golden: "composite",
		},
		"an inner step naming a top-level step makes the composite wait": {
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{
					b.composite("retire", nil, "stop:^drain", "start:stop"),
					b.step("drain"),
				}
			},
			order: "drain retire",
			waves: "[drain] [retire]",
		},
		"unknown and self references add no edge": {
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{b.step("a", "nope", "a", "ref:a"), b.step("b", "a")}
			},
			order: "a b",
			waves: "[a] [b]",
		},
		"fan-out and fan-in": {
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{
					b.step("root"),
					b.step("w1", "root"), b.step("w2", "root"), b.step("w3", "root"),
					b.step("sink", "w3", "w1", "w2", "ref:w1"),
					b.composite("after", []string{"sink"}, "one", "two", "three:one,two"),
				}
			},
			order:  "root w1 w2 w3 sink after",
			waves:  "[root] [w1 w2 w3] [sink] [after]",
			golden: "fan",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := mustBuild(t, runbook(tc.steps(&irBuilder{})...))
			if got := names(g.Order()); got != tc.order {
				t.Errorf("Order() = %q, want %q", got, tc.order)
			}
			if got := wavesString(g.Waves()); got != tc.waves {
				t.Errorf("Waves() = %q, want %q", got, tc.waves)
			}
			checkTopological(t, g)
			if tc.golden != "" {
				checkGolden(t, filepath.Join("testdata", "graph", tc.golden+".dot"), g.DOT())
			}
		})
	}
}

// checkTopological checks the invariants every acyclic graph must keep:
// each edge goes forward in Order, waves partition Order, and Preds/Succs
// mirror each other.
func checkTopological(t *testing.T, g *Graph) {
	t.Helper()
	pos := map[addrs.Step]int{}
	for i, s := range g.Order() {
		pos[s] = i
	}
	seen := 0
	for wi, w := range g.Waves() {
		if len(w) == 0 {
			t.Errorf("wave %d is empty", wi)
		}
		for _, s := range w {
			seen++
			for _, p := range g.Preds(s) {
				if pos[p] >= pos[s] {
					t.Errorf("edge %s -> %s goes backwards in Order", p, s)
				}
				if !slices.Contains(g.Succs(p), s) {
					t.Errorf("Succs(%s) lacks %s", p, s)
				}
				if !g.Ancestor(p, s) {
					t.Errorf("Ancestor(%s, %s) = false for a direct dependency", p, s)
				}
			}
		}
	}
	if seen != len(pos) {
		t.Errorf("waves hold %d steps, Order %d", seen, len(pos))
	}
	for _, s := range g.Order() {
		if ig := g.Inner(s); ig != nil {
			checkTopological(t, ig)
		}
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestDOTIsDeterministic(t *testing.T) {
	build := func() string {
		b := &irBuilder{}
		var steps []*lang.Step
		for i := range 50 {
			deps := []string{}
			for j := 0; j < i; j += 7 {
				deps = append(deps, fmt.Sprintf("s%d", j))
			}
			steps = append(steps, b.step(fmt.Sprintf("s%d", i), deps...))
		}
		return mustBuild(t, runbook(steps...)).DOT()
	}
	first := build()
	for range 20 {
		if got := build(); got != first {
			t.Fatalf("DOT output changed between builds:\n%s\n---\n%s", first, got)
		}
	}
}

func TestInner(t *testing.T) {
	b := &irBuilder{}
	rb := runbook(
		b.step("snapshot"),
		b.composite("retire", []string{"snapshot"}, "stop", "swap:stop", "check", "start:swap,ref:check"),
	)
	g := mustBuild(t, rb)
	retire := addrs.TopStep("retire")
	in := func(n string) addrs.Step { return addrs.Step{Outer: "retire", Name: n} }

	if g.Inner(addrs.TopStep("snapshot")) != nil {
		t.Error("Inner(step.snapshot) is not nil for a step with an action")
	}
	if g.Inner(addrs.TopStep("missing")) != nil {
		t.Error("Inner(step.missing) is not nil")
	}
	ig := g.Inner(retire)
	if ig == nil {
		t.Fatal("Inner(step.retire) is nil")
	}
	if ig.Outer() != retire {
		t.Errorf("Outer() = %s, want step.retire", ig.Outer())
	}
	if got, want := names(ig.Order()), "retire.step.stop retire.step.swap retire.step.check retire.step.start"; got != want {
		t.Errorf("inner Order() = %q, want %q", got, want)
	}
	if got, want := wavesString(ig.Waves()), "[retire.step.stop retire.step.check] [retire.step.swap] [retire.step.start]"; got != want {
		t.Errorf("inner Waves() = %q, want %q", got, want)
	}
	if ig.Inner(in("stop")) != nil {
		t.Error("an inner graph has no inner graphs")
	}
	// The top-level graph answers for inner steps too.
	if got, want := names(g.Preds(in("start"))), "retire.step.swap retire.step.check"; got != want {
		t.Errorf("Preds(start) = %q, want %q", got, want)
	}
	if got, want := names(g.Succs(in("stop"))), "retire.step.swap"; got != want {
		t.Errorf("Succs(stop) = %q, want %q", got, want)
	}
	if g.Step(in("swap")) != rb.Steps[1].Steps[1] {
		t.Error("Step(swap) does not return the inner step's IR")
	}
	if r := g.EdgeRange(in("check"), in("start")); r.Start.Line != rb.Steps[1].Steps[3].Refs[0].Range.Start.Line {
		t.Errorf("EdgeRange(check, start) = %v, want the reference's range", r)
	}
}

func TestAncestor(t *testing.T) {
	b := &irBuilder{}
	g := mustBuild(t, runbook(
		b.step("a"),
		b.step("b", "a"),
		b.step("c", "b"),
		b.step("d"),
		b.composite("e", []string{"c"}, "x", "y:x", "z"),
		b.step("f", "e"),
	))
	top := addrs.TopStep
	in := func(n string) addrs.Step { return addrs.Step{Outer: "e", Name: n} }
	tests := map[string]struct {
		a, b addrs.Step
		want bool
	}{
		"direct":                      {top("a"), top("b"), true},
		"transitive":                  {top("a"), top("c"), true},
		"not reversed":                {top("c"), top("a"), false},
		"not reflexive":               {top("a"), top("a"), false},
		"unrelated":                   {top("d"), top("c"), false},
		"unrelated reversed":          {top("c"), top("d"), false},
		"through a composite":         {top("a"), top("f"), true},
		"unknown step":                {top("zz"), top("f"), false},
		"top-level before inner":      {top("b"), in("y"), true},
		"inner before top-level":      {in("x"), top("f"), true},
		"inner not before unrelated":  {in("x"), top("d"), false},
		"siblings":                    {in("x"), in("y"), true},
		"siblings reversed":           {in("y"), in("x"), false},
		"unordered siblings":          {in("x"), in("z"), false},
		"composite and its own inner": {top("e"), in("x"), false},
		"inner and its own composite": {in("y"), top("e"), false},
		"unknown inner":               {in("nope"), in("y"), false},
		"unknown composite":           {addrs.Step{Outer: "q", Name: "x"}, top("f"), false},
		"inner of another composite":  {addrs.Step{Outer: "q", Name: "x"}, in("x"), false},
		"top-level after inner":       {top("f"), in("x"), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := g.Ancestor(tc.a, tc.b); got != tc.want {
				t.Errorf("Ancestor(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

// TestAncestorMatchesReachability compares the bitsets with a plain
// depth-first search on a pseudo-random DAG larger than one 64-bit word.
func TestAncestorMatchesReachability(t *testing.T) {
	b := &irBuilder{}
	const n = 150
	var steps []*lang.Step
	seed := uint32(7)
	rand := func() uint32 { seed = seed*1664525 + 1013904223; return seed >> 8 }
	for i := range n {
		var deps []string
		if i > 0 {
			for range rand() % 3 {
				deps = append(deps, fmt.Sprintf("s%d", rand()%uint32(i)))
			}
		}
		steps = append(steps, b.step(fmt.Sprintf("s%d", i), deps...))
	}
	g := mustBuild(t, runbook(steps...))
	reach := func(from, to addrs.Step) bool {
		seen := map[addrs.Step]bool{}
		stack := []addrs.Step{from}
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, w := range g.Succs(v) {
				if w == to {
					return true
				}
				if !seen[w] {
					seen[w] = true
					stack = append(stack, w)
				}
			}
		}
		return false
	}
	order := g.Order()
	for _, x := range order {
		for _, y := range order {
			if got, want := g.Ancestor(x, y), reach(x, y); got != want {
				t.Fatalf("Ancestor(%s, %s) = %v, reachability says %v", x, y, got, want)
			}
		}
	}
}

func TestEdgeRangeKeepsFirstDeclaration(t *testing.T) {
	b := &irBuilder{}
	a := b.step("a")
	// The depends_on element comes first (line 3), the reference after.
	c := b.step("c", "a", "ref:a", "a")
	g := mustBuild(t, runbook(a, c))
	if got := g.EdgeRange(a.Addr, c.Addr); got != c.DependsOn[0].Range {
		t.Errorf("EdgeRange(a, c) = %v, want the first depends_on element %v", got, c.DependsOn[0].Range)
	}
	if got := g.EdgeRange(c.Addr, a.Addr); got != (hcl.Range{}) {
		t.Errorf("EdgeRange(c, a) = %v, want the zero range", got)
	}
	if got := names(g.Preds(c.Addr)); got != "a" {
		t.Errorf("Preds(c) = %q, want one deduplicated edge", got)
	}
}

func TestCycles(t *testing.T) {
	tests := map[string]struct {
		steps func(b *irBuilder) []*lang.Step
		// cycles lists each expected diagnostic as "path @ subject line".
		cycles []string
		order  string
	}{
		"two": {
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{b.step("a", "b"), b.step("b", "a")}
			},
			cycles: []string{"step.a -> step.b -> step.a @2"},
			order:  "a b",
		},
		"three, reported from the earliest declared step": {
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{b.step("root"), b.step("c", "b"), b.step("a", "c", "root"), b.step("b", "a")}
			},
			cycles: []string{"step.c -> step.b -> step.a -> step.c @3"},
			order:  "root c a b",
		},
		"through a reference": {
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{b.step("a", "ref:b"), b.step("b", "ref:a")}
			},
			cycles: []string{"step.a -> step.b -> step.a @2"},
		},
		"two separate cycles and a step stuck behind one": {
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{
					b.step("ok"),
					b.step("p", "q"), b.step("q", "p"),
					b.step("stuck", "q", "ok"),
					b.step("x", "y"), b.step("y", "x"),
				}
			},
			cycles: []string{"step.p -> step.q -> step.p @3", "step.x -> step.y -> step.x @10"},
			order:  "ok p q stuck x y",
		},
		"shortest cycle through the first step": {
			// a -> b -> c -> a and a -> c -> a: the shorter one is named.
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{b.step("a", "b", "c"), b.step("b", "c"), b.step("c", "a")}
			},
			cycles: []string{"step.a -> step.c -> step.a @3"},
		},
		"among inner steps": {
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{b.composite("retire", nil, "stop:start", "start:stop")}
			},
			cycles: []string{"step.retire.step.stop -> step.retire.step.start -> step.retire.step.stop @3"},
			order:  "retire",
		},
		"through a composite's inner step": {
			steps: func(b *irBuilder) []*lang.Step {
				return []*lang.Step{b.step("a", "retire"), b.composite("retire", nil, "stop:^a")}
			},
			cycles: []string{"step.a -> step.retire -> step.a @2"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g, diags := BuildGraph(runbook(tc.steps(&irBuilder{})...))
			if g == nil {
				t.Fatal("BuildGraph returned a nil Graph")
			}
			var got []string
			for _, d := range diags {
				if d.Severity != hcl.DiagError || d.Summary != "Dependency cycle" {
					t.Errorf("unexpected diagnostic %s: %s", d.Summary, d.Detail)
					continue
				}
				if d.Subject == nil {
					t.Fatalf("diagnostic without Subject: %s", d.Detail)
				}
				path, _, _ := strings.Cut(strings.TrimPrefix(d.Detail, "These steps wait for each other in a loop, so none of them can ever start: "), ". Each")
				got = append(got, fmt.Sprintf("%s @%d", path, d.Subject.Start.Line))
				if !strings.Contains(d.Detail, "test.nrun.hcl:") || !strings.Contains(d.Detail, "Remove one of") {
					t.Errorf("Detail lacks positions or the fix:\n%s", d.Detail)
				}
			}
			if !slices.Equal(got, tc.cycles) {
				t.Errorf("cycles = %q, want %q", got, tc.cycles)
			}
			if tc.order != "" {
				if got := names(g.Order()); got != tc.order {
					t.Errorf("Order() = %q, want %q", got, tc.order)
				}
			}
			// The graph stays usable: every step is in exactly one wave.
			n := 0
			for _, w := range g.Waves() {
				n += len(w)
			}
			if n != len(g.Order()) {
				t.Errorf("waves hold %d steps, Order %d", n, len(g.Order()))
			}
			_ = g.DOT()
		})
	}
}

func TestCycleDetail(t *testing.T) {
	b := &irBuilder{}
	g, diags := BuildGraph(runbook(b.step("a", "b"), b.composite("b", nil, "in:^a")))
	wantDOT := `digraph "runbook" {
  compound = true;
  node [shape = "box"];
  "step.a";
  subgraph "cluster_step.b" {
    label = "step.b";
    "step.b.step.in" [label = "in"];
  }
  "step.a" -> "step.b.step.in" [lhead = "cluster_step.b"];
  "step.b.step.in" -> "step.a" [ltail = "cluster_step.b", color = "red"];
}
`
	if got := g.DOT(); got != wantDOT {
		t.Errorf("DOT() =\n%s\nwant the edge closing the cycle in red:\n%s", got, wantDOT)
	}
	if len(diags) != 1 {
		t.Fatalf("got %d diagnostics, want 1: %s", len(diags), diags.Error())
	}
	want := "These steps wait for each other in a loop, so none of them can ever start: step.a -> step.b -> step.a. " +
		"Each arrow means \"depends on\", declared here:\n" +
		"  step.a depends on step.b: depends_on element at test.nrun.hcl:2:3\n" +
		"  step.b (in its inner step.b.step.in) depends on step.a: depends_on element at test.nrun.hcl:5:3\n" +
		"Remove one of these depends_on elements or step references so that the steps form a chain."
	if diags[0].Detail != want {
		t.Errorf("Detail =\n%s\nwant\n%s", diags[0].Detail, want)
	}
	if diags[0].Context == nil || diags[0].Context.Start.Line != 1 {
		t.Errorf("Context = %v, want the body of step.a", diags[0].Context)
	}
}

func TestBuildGraphNil(t *testing.T) {
	g, diags := BuildGraph(nil)
	if len(diags) != 0 || g == nil || len(g.Order()) != 0 || g.DOT() == "" {
		t.Fatalf("BuildGraph(nil) = %v, %v", g, diags)
	}
	if g.Ancestor(addrs.TopStep("a"), addrs.TopStep("b")) || g.Preds(addrs.TopStep("a")) != nil {
		t.Error("an empty graph answers for unknown steps")
	}
}

// TestDOTGolden draws every runbook in testdata/graph and compares it with
// the .dot file next to it.
func TestDOTGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "graph", "*.nrun.hcl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no runbooks in testdata/graph (%v)", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rb, diags := lang.Load(f)
			g, gdiags := BuildGraph(rb)
			diags = append(diags, gdiags...)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			checkGolden(t, strings.TrimSuffix(f, ".nrun.hcl")+".dot", g.DOT())
		})
	}
}

// TestConcurrentReaders: the ancestor bitsets are computed lazily, so the
// first Ancestor calls may race; run with -race.
func TestConcurrentReaders(t *testing.T) {
	b := &irBuilder{}
	var steps []*lang.Step
	for i := range 100 {
		var deps []string
		if i > 0 {
			deps = append(deps, fmt.Sprintf("s%d", i-1))
		}
		steps = append(steps, b.step(fmt.Sprintf("s%d", i), deps...))
	}
	g := mustBuild(t, runbook(steps...))
	first, last := addrs.TopStep("s0"), addrs.TopStep("s99")
	done := make(chan bool)
	for range 8 {
		go func() {
			done <- g.Ancestor(first, last) && !g.Ancestor(last, first) && len(g.Waves()) == 100
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("a concurrent reader got a wrong answer")
		}
	}
}

// TestRandomGraphs builds many small random graphs, cyclic or not, with a
// composite among them, and checks BuildGraph against plain oracles: it
// reports a cycle exactly when a depth-first search finds one, every
// reported path is a real cycle, and Order and Waves stay a partition of
// the steps either way.
func TestRandomGraphs(t *testing.T) {
	seed := uint32(42)
	rand := func(n int) int { seed = seed*1664525 + 1013904223; return int(seed>>8) % n }
	cyclicCount := 0
	for iter := range 500 {
		b := &irBuilder{}
		n := 1 + rand(9)
		deps := map[string][]string{}
		var steps []*lang.Step
		for i := range n {
			name := fmt.Sprintf("s%d", i)
			var ds []string
			for range rand(3) {
				d := fmt.Sprintf("s%d", rand(n))
				if rand(3) == 0 {
					d = "ref:" + d
				}
				ds = append(ds, d)
			}
			if i == n-1 && rand(2) == 0 {
				steps = append(steps, b.composite(name, ds, "x:y", "y", "z:x"))
			} else {
				steps = append(steps, b.step(name, ds...))
			}
			for _, d := range ds {
				deps[name] = append(deps[name], strings.TrimPrefix(d, "ref:"))
			}
		}
		g, diags := BuildGraph(runbook(steps...))

		// Oracle: a cycle exists when some step reaches itself through
		// its dependencies (self-dependencies are lang's to report).
		hasEdge := func(from, to string) bool { return from != to && slices.Contains(deps[from], to) }
		cyclic := false
		for s := range deps {
			seen := map[string]bool{}
			stack := []string{s}
			for len(stack) > 0 && !cyclic {
				v := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				for _, w := range deps[v] {
					if !hasEdge(v, w) {
						continue
					}
					if w == s {
						cyclic = true
					}
					if !seen[w] {
						seen[w] = true
						stack = append(stack, w)
					}
				}
			}
		}
		if cyclic {
			cyclicCount++
		}
		if cyclic != diags.HasErrors() {
			t.Fatalf("iteration %d: cyclic=%v but diagnostics: %v\n%v", iter, cyclic, diags, deps)
		}
		for _, d := range diags {
			path, _, _ := strings.Cut(strings.TrimPrefix(d.Detail, "These steps wait for each other in a loop, so none of them can ever start: "), ". Each")
			hops := strings.Split(path, " -> ")
			if len(hops) < 3 || hops[0] != hops[len(hops)-1] {
				t.Fatalf("iteration %d: path %q is not a cycle", iter, path)
			}
			for i := range len(hops) - 1 {
				from, to := strings.TrimPrefix(hops[i], "step."), strings.TrimPrefix(hops[i+1], "step.")
				if !hasEdge(from, to) {
					t.Fatalf("iteration %d: path %q uses %s -> %s, which is no dependency", iter, path, from, to)
				}
			}
		}
		order := g.Order()
		if len(order) != n {
			t.Fatalf("iteration %d: Order has %d steps, want %d", iter, len(order), n)
		}
		inWaves := map[addrs.Step]int{}
		for _, w := range g.Waves() {
			for _, s := range w {
				inWaves[s]++
			}
		}
		for _, s := range order {
			if inWaves[s] != 1 {
				t.Fatalf("iteration %d: %s is in %d waves", iter, s, inWaves[s])
			}
		}
		if !cyclic {
			checkTopological(t, g)
		}
	}
	// Both kinds must be common, or the oracle checks nothing.
	if cyclicCount < 50 || cyclicCount > 450 {
		t.Errorf("%d of 500 random graphs are cyclic; adjust the generator", cyclicCount)
	}
	t.Logf("%d of 500 random graphs are cyclic", cyclicCount)
}
