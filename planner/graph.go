package planner

import (
	"container/heap"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/dominikbraun/graph"
	"github.com/hashicorp/hcl/v2"

	"github.com/nrun-dev/nrun/addrs"
	"github.com/nrun-dev/nrun/lang"
)

// Graph is the static step graph of a runbook: one vertex per top-level
// step, one edge per dependency (from the step that must finish first to the
// step that waits for it). A composite step is one vertex here; its inner
// steps form their own small Graph, reachable through Inner.
//
// Edges come from depends_on elements and from step.x references in
// expressions; a dependency declared twice is one edge that keeps the range
// of its first declaration. A top-level step that depends on a composite
// step waits for every instance of it, inner steps included.
//
// A Graph is immutable after BuildGraph and safe for concurrent readers.
// When the runbook has a dependency cycle, BuildGraph reports it and still
// returns a Graph: the steps left over by the topological pass are appended
// to Order in declaration order, and the edges that point backwards in that
// order are left out of Waves, Ancestor and the DOT ranks, so later passes
// can keep going on a DAG.
type Graph struct {
	lib graph.Graph[string, string]

	// outer is the composite step whose inner DAG this is; zero for the
	// top-level graph.
	outer addrs.Step

	// Everything below is indexed by position in order.
	order []addrs.Step
	pos   map[addrs.Step]int
	decl  []*lang.Step
	preds [][]int // sorted ascending, deduplicated
	succs [][]int // sorted ascending, deduplicated
	depth []int
	waves [][]addrs.Step

	inner map[string]*Graph

	ancOnce sync.Once
	anc     []bitset // anc[i] has bit j set when order[j] must finish before order[i]
}

// edgeKind says how a dependency was declared.
type edgeKind int

const (
	edgeDependsOn edgeKind = iota // an element of depends_on
	edgeRef                       // a step.x reference in an expression
)

// edgeInfo is stored as the library edge's Data: where the dependency was
// declared, and how.
type edgeInfo struct {
	kind  edgeKind
	rng   hcl.Range
	inner addrs.Step // set when the declaration sits in an inner step of the dependent composite
}

// BuildGraph builds the step graph of rb and reports every dependency cycle,
// one error per cycle, among top-level steps and among the inner steps of
// each composite step. It never returns a nil Graph; rb may be nil.
//
// References that lang already rejects (to an unknown step, to the step
// itself, to an inner step from outside its composite) add no edge here and
// no second diagnostic, with one exception: a reference from outside to an
// inner step orders against its whole composite step, which is the
// conservative reading.
func BuildGraph(rb *lang.Runbook) (*Graph, hcl.Diagnostics) {
	var steps []*lang.Step
	if rb != nil {
		steps = rb.Steps
	}
	g, diags := buildLevel(addrs.Step{}, steps)
	for _, s := range g.decl {
		if len(s.Steps) == 0 {
			continue
		}
		ig, idiags := buildLevel(s.Addr, s.Steps)
		diags = append(diags, idiags...)
		if g.inner == nil {
			g.inner = make(map[string]*Graph)
		}
		g.inner[s.Addr.Name] = ig
	}
	return g, diags
}

// buildLevel builds one DAG: the top-level steps (outer is zero) or the
// inner steps of the composite outer.
func buildLevel(outer addrs.Step, steps []*lang.Step) (*Graph, hcl.Diagnostics) {
	g := &Graph{
		lib:   graph.New(graph.StringHash, graph.Directed()),
		outer: outer,
	}

	// Vertices in declaration order; a duplicate name (reported by lang)
	// keeps its first declaration.
	declIdx := make(map[addrs.Step]int, len(steps))
	byVertex := make(map[string]int, len(steps))
	var vertex []string // vertex names by declaration index
	var decl []*lang.Step
	for _, s := range steps {
		if s == nil {
			continue
		}
		if _, dup := declIdx[s.Addr]; dup {
			continue
		}
		v := s.Addr.String()
		if err := g.lib.AddVertex(v); err != nil {
			continue
		}
		declIdx[s.Addr] = len(decl)
		byVertex[v] = len(decl)
		vertex = append(vertex, v)
		decl = append(decl, s)
	}

	for i, s := range decl {
		g.addEdges(vertex[i], s, s, declIdx, vertex)
		if outer.Name == "" {
			// An inner step that names a top-level step makes its whole
			// composite wait for that step.
			for _, in := range s.Steps {
				if in != nil {
					g.addEdges(vertex[i], s, in, declIdx, vertex)
				}
			}
		}
	}

	// One pass over the library's predecessor map turns the graph into
	// integer adjacency by declaration index; everything after is slices.
	pm, _ := g.lib.PredecessorMap()
	n := len(decl)
	predDecl := make([][]int, n)
	succDecl := make([][]int, n)
	for i := range decl {
		for from := range pm[vertex[i]] {
			j, ok := byVertex[from]
			if !ok {
				continue
			}
			predDecl[i] = append(predDecl[i], j)
			succDecl[j] = append(succDecl[j], i)
		}
	}
	for i := range n {
		slices.Sort(predDecl[i])
		slices.Sort(succDecl[i])
	}

	orderDecl, diags := g.topoOrder(decl, predDecl, succDecl)

	// Reindex everything by position in the order.
	g.order = make([]addrs.Step, n)
	g.decl = make([]*lang.Step, n)
	g.pos = make(map[addrs.Step]int, n)
	posOfDecl := make([]int, n)
	for p, d := range orderDecl {
		posOfDecl[d] = p
		g.order[p] = decl[d].Addr
		g.decl[p] = decl[d]
		g.pos[decl[d].Addr] = p
	}
	g.preds = make([][]int, n)
	g.succs = make([][]int, n)
	for d := range n {
		p := posOfDecl[d]
		g.preds[p] = remap(predDecl[d], posOfDecl)
		g.succs[p] = remap(succDecl[d], posOfDecl)
	}

	// Longest path from the roots, over forward edges only.
	g.depth = make([]int, n)
	maxDepth := -1
	for p := range n {
		for _, q := range g.preds[p] {
			if q >= p {
				continue // an edge closing a cycle
			}
			g.depth[p] = max(g.depth[p], g.depth[q]+1)
		}
		maxDepth = max(maxDepth, g.depth[p])
	}
	g.waves = make([][]addrs.Step, maxDepth+1)
	for p, a := range g.order {
		g.waves[g.depth[p]] = append(g.waves[g.depth[p]], a)
	}
	return g, diags
}

// addEdges adds an edge into dependent for every dependency declared in the
// body of src (dependent itself, or one of its inner steps when dependent is
// a top-level composite).
func (g *Graph) addEdges(to string, dependent, src *lang.Step, declIdx map[addrs.Step]int, vertex []string) {
	// On the top-level graph, a sibling reference inside a composite lifts
	// to the composite itself and is dropped as a self-edge below; it is
	// an edge of the inner graph instead.
	add := func(ref lang.StepRef, kind edgeKind) {
		dep := ref.Addr
		switch {
		case g.outer.Name == "" && dep.Nested():
			dep = dep.Parent()
		case g.outer.Name != "" && dep.Outer != g.outer.Name:
			// Inner steps may only name siblings; a top-level step named
			// from inside is handled by the top-level graph.
			return
		}
		if dep == dependent.Addr {
			return
		}
		j, ok := declIdx[dep]
		if !ok {
			return
		}
		info := edgeInfo{kind: kind, rng: ref.Range}
		if src != dependent {
			info.inner = src.Addr
		}
		// ErrEdgeAlreadyExists keeps the first declaration's range.
		_ = g.lib.AddEdge(vertex[j], to, graph.EdgeData(info))
	}
	for _, r := range src.DependsOn {
		add(r, edgeDependsOn)
	}
	for _, r := range src.Refs {
		add(r, edgeRef)
	}
}

func remap(idx []int, to []int) []int {
	if len(idx) == 0 {
		return nil
	}
	out := make([]int, len(idx))
	for i, d := range idx {
		out[i] = to[d]
	}
	slices.Sort(out)
	return out
}

// topoOrder is Kahn's algorithm with ties broken by declaration order. When
// vertices remain, it reports one diagnostic per cycle (strongly connected
// component) and appends the remaining vertices in declaration order.
func (g *Graph) topoOrder(decl []*lang.Step, predDecl, succDecl [][]int) ([]int, hcl.Diagnostics) {
	n := len(decl)
	indeg := make([]int, n)
	ready := make(intHeap, 0, n)
	for i := range n {
		indeg[i] = len(predDecl[i])
		if indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	// ready is already sorted, hence a valid heap.
	order := make([]int, 0, n)
	for ready.Len() > 0 {
		v := heap.Pop(&ready).(int)
		order = append(order, v)
		for _, w := range succDecl[v] {
			indeg[w]--
			if indeg[w] == 0 {
				heap.Push(&ready, w)
			}
		}
	}
	if len(order) == n {
		return order, nil
	}

	remaining := make([]bool, n)
	for i := range n {
		remaining[i] = indeg[i] > 0
	}
	var diags hcl.Diagnostics
	for _, comp := range sccs(n, remaining, succDecl) {
		if len(comp) < 2 {
			continue
		}
		cycle := shortestCycle(comp, predDecl)
		diags = append(diags, g.cycleDiag(decl, cycle))
	}
	for i := range n {
		if remaining[i] {
			order = append(order, i)
		}
	}
	return order, diags
}

// sccs returns the strongly connected components of the subgraph induced by
// the vertices with in[v] set, each sorted ascending, the list sorted by
// first element. It is Tarjan's algorithm without recursion, so a long
// chain cannot overflow the stack.
func sccs(n int, in []bool, succ [][]int) [][]int {
	const unvisited = -1
	index := make([]int, n)
	low := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = unvisited
	}
	var stack []int
	var comps [][]int
	next := 0
	type frame struct{ v, i int }
	for root := range n {
		if !in[root] || index[root] != unvisited {
			continue
		}
		call := []frame{{root, 0}}
		index[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			if f.i < len(succ[f.v]) {
				w := succ[f.v][f.i]
				f.i++
				if !in[w] {
					continue
				}
				if index[w] == unvisited {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] {
					low[f.v] = min(low[f.v], index[w])
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 {
				u := call[len(call)-1].v
				low[u] = min(low[u], low[v])
			}
			if low[v] == index[v] {
				var comp []int
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				slices.Sort(comp)
				comps = append(comps, comp)
			}
		}
	}
	slices.SortFunc(comps, func(a, b []int) int { return a[0] - b[0] })
	return comps
}

// shortestCycle returns a shortest cycle through the earliest-declared
// vertex of comp, as a "depends on" path: cycle[i] depends on cycle[i+1],
// and the last element depends on cycle[0]. The breadth-first search visits
// dependencies in declaration order, so the result is deterministic.
func shortestCycle(comp []int, predDecl [][]int) []int {
	start := comp[0]
	inComp := make(map[int]bool, len(comp))
	for _, v := range comp {
		inComp[v] = true
	}
	parent := map[int]int{start: -1}
	queue := []int{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, d := range predDecl[v] {
			if !inComp[d] {
				continue
			}
			if d == start {
				var path []int
				for x := v; x != -1; x = parent[x] {
					path = append(path, x)
				}
				slices.Reverse(path)
				return path
			}
			if _, seen := parent[d]; !seen {
				parent[d] = v
				queue = append(queue, d)
			}
		}
	}
	// Unreachable for a strongly connected component of two or more
	// vertices; fall back to the component itself rather than panic.
	return comp
}

// cycleDiag describes one cycle, given as a "depends on" path.
func (g *Graph) cycleDiag(decl []*lang.Step, cycle []int) *hcl.Diagnostic {
	var path, where strings.Builder
	var subject hcl.Range
	for i, v := range cycle {
		w := cycle[(i+1)%len(cycle)]
		dependent, dep := decl[v], decl[w]
		info := g.edge(dep.Addr, dependent.Addr)
		if i == 0 {
			subject = info.rng
			path.WriteString(dependent.Addr.String())
		}
		path.WriteString(" -> ")
		path.WriteString(dep.Addr.String())

		who := dependent.Addr.String()
		if info.inner.Name != "" {
			who += " (in its inner " + info.inner.String() + ")"
		}
		how := "depends_on element at"
		if info.kind == edgeRef {
			how = "reference at"
		}
		fmt.Fprintf(&where, "\n  %s depends on %s: %s %s", who, dep.Addr, how, rangePos(info.rng))
	}
	head := decl[cycle[0]]
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Dependency cycle",
		Detail: fmt.Sprintf("These steps wait for each other in a loop, so none of them can ever start: %s. "+
			"Each arrow means \"depends on\", declared here:%s\n"+
			"Remove one of these depends_on elements or step references so that the steps form a chain.",
			path.String(), where.String()),
		Subject: subject.Ptr(),
		Context: head.Body.Ptr(),
	}
}

func rangePos(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// edge returns the declaration of the edge from -> to, or the zero value.
func (g *Graph) edge(from, to addrs.Step) edgeInfo {
	e, err := g.lib.Edge(from.String(), to.String())
	if err != nil {
		return edgeInfo{}
	}
	info, _ := e.Properties.Data.(edgeInfo)
	return info
}

// Order returns the steps of this graph in a deterministic topological
// order: each step comes after every step it depends on, and among steps
// that are ready at the same time the one declared first comes first.
func (g *Graph) Order() []addrs.Step {
	return slices.Clone(g.order)
}

// Waves groups the steps of this graph by the length of the longest
// dependency path leading to them: wave 0 holds the steps that depend on
// nothing, wave k the steps whose deepest dependency is in wave k-1. Within
// a wave, steps keep their Order.
func (g *Graph) Waves() [][]addrs.Step {
	out := make([][]addrs.Step, len(g.waves))
	for i, w := range g.waves {
		out[i] = slices.Clone(w)
	}
	return out
}

// Inner returns the DAG of the inner steps of the composite step outer, or
// nil when outer is not a composite step of this graph.
func (g *Graph) Inner(outer addrs.Step) *Graph {
	if outer.Nested() {
		return nil
	}
	return g.inner[outer.Name]
}

// Outer returns the composite step whose inner DAG g is, or the zero Step
// for the top-level graph.
func (g *Graph) Outer() addrs.Step { return g.outer }

// Step returns the IR of a step of this graph, or nil.
func (g *Graph) Step(s addrs.Step) *lang.Step {
	if h := g.level(s); h != nil {
		if p, ok := h.pos[s]; ok {
			return h.decl[p]
		}
	}
	return nil
}

// level returns the graph that holds s as a vertex: g itself, or the inner
// graph of s's composite when g is the top-level graph.
func (g *Graph) level(s addrs.Step) *Graph {
	if s.Outer == g.outer.Name {
		return g
	}
	if g.outer.Name == "" {
		return g.inner[s.Outer]
	}
	return nil
}

// Preds returns the direct dependencies of s, sorted by Order. On the
// top-level graph, s may also be an inner step; its dependencies are then
// its siblings.
func (g *Graph) Preds(s addrs.Step) []addrs.Step {
	h := g.level(s)
	if h == nil {
		return nil
	}
	p, ok := h.pos[s]
	if !ok {
		return nil
	}
	return h.addrsOf(h.preds[p])
}

// Succs returns the steps that depend directly on s, sorted by Order. On the
// top-level graph, s may also be an inner step.
func (g *Graph) Succs(s addrs.Step) []addrs.Step {
	h := g.level(s)
	if h == nil {
		return nil
	}
	p, ok := h.pos[s]
	if !ok {
		return nil
	}
	return h.addrsOf(h.succs[p])
}

func (g *Graph) addrsOf(idx []int) []addrs.Step {
	if len(idx) == 0 {
		return nil
	}
	out := make([]addrs.Step, len(idx))
	for i, p := range idx {
		out[i] = g.order[p]
	}
	return out
}

// Ancestor reports whether a must finish before b can start, directly or
// through other steps. It is false for a == b and for unknown steps.
//
// On the top-level graph a and b may be inner steps: two inner steps of the
// same composite are ordered by its inner DAG (within one instance of the
// composite), and an inner step is ordered against anything outside its
// composite through the composite step itself. A composite and its own
// inner steps are not ordered against each other.
//
// The first call computes one bitset of ancestors per step, in topological
// order (O(V·E/64) time, V²/8 bytes); every call after that is O(1).
func (g *Graph) Ancestor(a, b addrs.Step) bool {
	if a.Outer == b.Outer {
		h := g.level(a)
		if h == nil {
			return false
		}
		pa, okA := h.pos[a]
		pb, okB := h.pos[b]
		if !okA || !okB || pa >= pb {
			return false
		}
		return h.ancestors()[pb].has(pa)
	}
	if g.outer.Name != "" {
		return false
	}
	// Different levels: lift each inner step to its composite.
	if a.Nested() {
		a = a.Parent()
	}
	if b.Nested() {
		b = b.Parent()
	}
	if a == b {
		return false
	}
	return g.Ancestor(a, b)
}

func (g *Graph) ancestors() []bitset {
	g.ancOnce.Do(func() { g.anc = computeAncestors(g.preds) })
	return g.anc
}

// computeAncestors returns, for each vertex p of a graph given by its
// predecessor lists in topological order, the set of vertices that must
// finish before p starts. Edges that point forward (closing a cycle) are
// ignored.
func computeAncestors(preds [][]int) []bitset {
	n := len(preds)
	words := (n + 63) / 64
	backing := make([]uint64, n*words)
	anc := make([]bitset, n)
	for p := range n {
		row := bitset(backing[p*words : (p+1)*words : (p+1)*words])
		for _, q := range preds[p] {
			if q >= p {
				continue
			}
			row.set(q)
			row.or(anc[q])
		}
		anc[p] = row
	}
	return anc
}

// EdgeRange returns where the dependency of to on from was declared: the
// depends_on element or the first step reference. It is the zero Range when
// there is no such edge. On the top-level graph both steps may be inner
// steps of the same composite.
func (g *Graph) EdgeRange(from, to addrs.Step) hcl.Range {
	if from.Outer != to.Outer {
		return hcl.Range{}
	}
	h := g.level(to)
	if h == nil {
		return hcl.Range{}
	}
	return h.edge(from, to).rng
}

// bitset is a fixed-size set of small integers.
type bitset []uint64

func (b bitset) set(i int)      { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bitset) has(i int) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func (b bitset) or(c bitset) {
	for i, w := range c {
		b[i] |= w
	}
}

// intHeap is a min-heap of declaration indices.
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
