package planner

import (
	"flag"
	"slices"
	"strconv"
	"testing"

	"github.com/dominikbraun/graph"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/nrun-dev/nrun/addrs"
	"github.com/nrun-dev/nrun/internal/rbgen"
	"github.com/nrun-dev/nrun/lang"
)

// libSort enables BenchmarkStableTopologicalSort, which measures the graph
// library's own sort on the benchmark runbook to justify not using it. It
// takes seconds per operation, so it is off by default:
//
//	go test ./planner -run '^$' -bench StableTopologicalSort -benchtime 1x -libsort
var libSort = flag.Bool("libsort", false, "also run BenchmarkStableTopologicalSort (slow: seconds per op)")

// benchOptions is the runbook every planner benchmark uses: 2000 steps and
// one step whose for_each ranges over a local map literal with 10,000 keys.
var benchOptions = rbgen.Options{Steps: 2000, ForEachKeys: 10000, Seed: 1}

func parseBench(tb testing.TB, o rbgen.Options) *lang.Runbook {
	tb.Helper()
	rb, diags := lang.Parse(map[string][]byte{"bench.nrun.hcl": rbgen.Generate(o)})
	if diags.HasErrors() {
		tb.Fatalf("generated runbook does not parse: %s", diags.Error())
	}
	return rb
}

// BenchmarkValidate measures what `nrun validate` does on a large runbook:
// parse, input values and Validate (lang.Validate, BuildGraph and the
// safety analysis). Budget: < 200 ms/op. keys=literal spells the 10,000
// keys out as a map literal (HCL's tokenizer dominates: see
// BenchmarkParseFloor); keys=expression builds the same map with a for
// expression (cty's evaluation of 10,000 iterations dominates).
func BenchmarkValidate(b *testing.B) {
	for name, expr := range map[string]bool{"keys=literal": false, "keys=expression": true} {
		b.Run(name, func(b *testing.B) {
			o := benchOptions
			o.KeysExpression = expr
			src := rbgen.Generate(o)
			b.SetBytes(int64(len(src)))
			defer reportCPU(b)()
			for b.Loop() {
				rb, diags := lang.Parse(map[string][]byte{"bench.nrun.hcl": src})
				inputs, idiags := lang.InputValues(rb, nil, nil)
				diags = append(diags, idiags...)
				g, vdiags := Validate(rb, inputs)
				diags = append(diags, vdiags...)
				if diags.HasErrors() || len(g.order) != o.Steps {
					b.Fatalf("%d steps, diagnostics: %s", len(g.order), diags.Error())
				}
			}
		})
	}
}

// reportCPU reports the process CPU time per op (user + system, GC
// included) when the returned function runs at the end of the benchmark.
// On a shared machine it is the steadier figure; ns/op is wall time.
func reportCPU(b *testing.B) func() {
	start, ok := processCPU()
	b.ResetTimer()
	return func() {
		if end, ok2 := processCPU(); ok && ok2 && b.N > 0 {
			b.ReportMetric(float64((end-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkParseFloor measures hclsyntax.ParseConfig alone on the same
// source: the part of BenchmarkValidate that no nrun code can make faster.
func BenchmarkParseFloor(b *testing.B) {
	src := rbgen.Generate(benchOptions)
	b.SetBytes(int64(len(src)))
	defer reportCPU(b)()
	for b.Loop() {
		if _, diags := hclsyntax.ParseConfig(src, "bench.nrun.hcl", hcl.InitialPos); diags.HasErrors() {
			b.Fatal(diags.Error())
		}
	}
}

// BenchmarkBuildGraph measures BuildGraph alone on IR parsed once.
func BenchmarkBuildGraph(b *testing.B) {
	for _, steps := range []int{2000, 10000} {
		b.Run("steps="+strconv.Itoa(steps), func(b *testing.B) {
			o := benchOptions
			o.Steps = steps
			rb := parseBench(b, o)
			defer reportCPU(b)()
			for b.Loop() {
				g, diags := BuildGraph(rb)
				if diags.HasErrors() || len(g.order) != steps {
					b.Fatalf("%d steps, diagnostics: %s", len(g.order), diags.Error())
				}
			}
		})
	}
}

// BenchmarkAncestorPrecompute measures the first Ancestor call, which
// builds the ancestor bitsets; later calls are a bit test.
func BenchmarkAncestorPrecompute(b *testing.B) {
	for _, steps := range []int{2000, 10000} {
		b.Run("steps="+strconv.Itoa(steps), func(b *testing.B) {
			o := benchOptions
			o.Steps = steps
			g, _ := BuildGraph(parseBench(b, o))
			last := len(g.order) - 1
			for b.Loop() {
				anc := computeAncestors(g.preds)
				if !anc[last].has(0) {
					b.Fatalf("%s is not an ancestor of %s", g.order[0], g.order[last])
				}
			}
		})
	}
}

// BenchmarkKahn measures the order pass alone (Kahn with a heap for the
// declaration tie-break), on the integer adjacency BuildGraph derives from
// the library's predecessor map. Compare with BenchmarkStableTopologicalSort.
func BenchmarkKahn(b *testing.B) {
	for _, steps := range []int{500, 2000, 10000} {
		b.Run("steps="+strconv.Itoa(steps), func(b *testing.B) {
			o := benchOptions
			o.Steps = steps
			g, _ := BuildGraph(parseBench(b, o))
			for b.Loop() {
				order, diags := g.topoOrder(g.decl, g.preds, g.succs)
				if len(order) != steps || diags.HasErrors() {
					b.Fatalf("%d steps ordered, %s", len(order), diags.Error())
				}
			}
		})
	}
}

// BenchmarkStableTopologicalSort runs the graph library's own stable sort
// on the same graph BuildGraph builds, with the same tie-break. It is the
// measurement behind computing the order ourselves.
func BenchmarkStableTopologicalSort(b *testing.B) {
	if !*libSort {
		b.Skip("slow; enable with -libsort")
	}
	for _, steps := range []int{500, 2000, 10000} {
		b.Run("steps="+strconv.Itoa(steps), func(b *testing.B) {
			o := benchOptions
			o.Steps = steps
			g, _ := BuildGraph(parseBench(b, o))
			declIdx := make(map[string]int, len(g.decl))
			for i, s := range g.decl {
				declIdx[s.Addr.String()] = i
			}
			for b.Loop() {
				order, err := graph.StableTopologicalSort(g.lib, func(x, y string) bool { return declIdx[x] < declIdx[y] })
				if err != nil || len(order) != steps {
					b.Fatalf("sort: %d vertices, %v", len(order), err)
				}
			}
		})
	}
}

// TestGeneratedRunbookValid keeps the benchmark honest: the generated
// runbooks pass the whole offline check (lang, graph, safety) without a
// single diagnostic, with the for_each map in a local or in a variable.
func TestGeneratedRunbookValid(t *testing.T) {
	for name, o := range map[string]rbgen.Options{
		"bench":           benchOptions,
		"map in variable": {Steps: 300, ForEachKeys: 20, MapInVariable: true, Seed: 4},
	} {
		t.Run(name, func(t *testing.T) {
			rb, diags := lang.Parse(map[string][]byte{"gen.nrun.hcl": rbgen.Generate(o)})
			_, vdiags := Validate(rb, nil)
			for _, d := range append(diags, vdiags...) {
				t.Errorf("%s", d.Error())
			}
		})
	}
}

// TestGeneratedRunbookOrder checks Order on a generated runbook against
// the definition, computed the slow way: repeatedly take the
// earliest-declared step whose dependencies have all been taken.
func TestGeneratedRunbookOrder(t *testing.T) {
	o := benchOptions
	o.Steps, o.ForEachKeys = 400, 5
	rb := parseBench(t, o)
	g, diags := BuildGraph(rb)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	checkTopological(t, g)

	done := map[addrs.Step]bool{}
	var want []addrs.Step
	for len(want) < len(rb.Steps) {
		for _, s := range rb.Steps {
			if done[s.Addr] {
				continue
			}
			ready := true
			for _, p := range g.Preds(s.Addr) {
				ready = ready && done[p]
			}
			if ready {
				done[s.Addr] = true
				want = append(want, s.Addr)
				break
			}
		}
	}
	if got := g.Order(); !slices.Equal(got, want) {
		t.Errorf("Order() differs from the definition:\n got %v\nwant %v", got, want)
	}
	if len(g.Waves()) < 10 {
		t.Errorf("only %d waves: the generator no longer builds dependency chains", len(g.Waves()))
	}
}
