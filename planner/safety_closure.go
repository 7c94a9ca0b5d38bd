package planner

// This file holds the exact worst-case search behind NR-S002.
//
// The question: over every moment of every schedule a DAG permits, how bad
// can the cluster's state get? At any moment the steps split into finished
// (F), running (R) and not started. F ∪ R is a down-set of the DAG (a step
// starts only after all its ancestors finished), and R is an antichain of
// maximal elements of that down-set (a running step has no started
// descendant). Every step has two weights: run, its worst contribution at
// any point while it runs, and fin, its contribution once finished. Because
// steps run for arbitrary lengths of time, any down-set I with any antichain
// R of maximal elements of I is reachable, and all running steps can be at
// their worst point at once.
//
// Maximising Σ_{I\R} fin + Σ_R run over such (I, R) looks like a search over
// antichains, but it is a maximum-weight closure problem, which min-cut
// solves exactly in polynomial time (Picard 1976). Give every step u two
// 0/1 variables, x_u = "u started" and y_u = "u finished", with weights
//
//	w(x_u) = run(u)            (run(u) ≥ max(0, fin(u)) by construction)
//	w(y_u) = fin(u) − run(u)   (≤ 0)
//
// so a running step scores run and a finished one fin, and the constraints
//
//	y_u ⇒ x_u                      finished steps have started
//	x_v ⇒ x_u  for each edge u→v   the started set is a down-set
//	x_v ⇒ y_u  for each edge u→v   a step starts only after its parents finished
//
// Each constraint is an implication between two variables, so the feasible
// assignments are exactly the closures of the implication graph, and the
// best one is a maximum-weight closure. Direct edges are enough: x_v forces
// x_u and y_u of a direct parent, and x_u forces its own parents in turn.
// The network has 2V+2 nodes and V+2E infinite arcs; we solve it with
// Dinic's algorithm. With weights zero on steps that touch no server, the
// problem is the weighted Dilworth max-antichain when every fin is 0 (only
// transient disruptions), and it extends that to persistent effects (fin >
// 0 for a stop that is never undone, fin < 0 for a removal or creation that
// changes the voter set) which accumulate along the order.

// closureNode is one step of the DAG as the closure search sees it.
type closureNode struct {
	run, fin int64
	preds    []int
}

// closureState says where a step is in the worst moment found.
type closureState int8

const (
	stateNotStarted closureState = iota
	stateRunning
	stateFinished
)

// worstMoment returns the maximum of Σ_{finished} fin + Σ_{running} run over
// all reachable moments of the DAG given by nodes (node i's preds must be
// other node indexes), and one moment that reaches it. run is raised to
// max(run, fin, 0) first, which is what "worst point while running"
// means: a step's run includes its start and its end.
func worstMoment(nodes []closureNode) (int64, []closureState) {
	n := len(nodes)
	const inf = int64(1) << 60
	net := newFlowNet(2*n + 2)
	src, snk := 2*n, 2*n+1
	var positive int64
	addWeight := func(v int, w int64) {
		switch {
		case w > 0:
			net.addArc(src, v, w)
			positive += w
		case w < 0:
			net.addArc(v, snk, -w)
		}
	}
	for u, nd := range nodes {
		run := max(nd.run, nd.fin, 0)
		x, y := 2*u, 2*u+1
		addWeight(x, run)
		addWeight(y, nd.fin-run)
		net.addArc(y, x, inf)
		for _, p := range nd.preds {
			if p < 0 || p >= n || p == u {
				continue
			}
			net.addArc(x, 2*p, inf)
			net.addArc(x, 2*p+1, inf)
		}
	}
	cut := net.maxFlow(src, snk)
	inClosure := net.reachable(src)
	states := make([]closureState, n)
	for u := range nodes {
		switch {
		case inClosure[2*u+1]:
			states[u] = stateFinished
		case inClosure[2*u]:
			states[u] = stateRunning
		}
	}
	return positive - cut, states
}

// flowNet is a residual network for Dinic's max-flow algorithm.
type flowNet struct {
	head  []int
	next  []int
	to    []int
	cap   []int64
	level []int
	iter  []int
}

func newFlowNet(n int) *flowNet {
	head := make([]int, n)
	for i := range head {
		head[i] = -1
	}
	return &flowNet{head: head, level: make([]int, n), iter: make([]int, n)}
}

func (f *flowNet) addArc(u, v int, c int64) {
	f.to = append(f.to, v, u)
	f.cap = append(f.cap, c, 0)
	f.next = append(f.next, f.head[u], f.head[v])
	f.head[u] = len(f.to) - 2
	f.head[v] = len(f.to) - 1
}

func (f *flowNet) bfs(s, t int) bool {
	for i := range f.level {
		f.level[i] = -1
	}
	f.level[s] = 0
	queue := []int{s}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		for e := f.head[u]; e >= 0; e = f.next[e] {
			if f.cap[e] > 0 && f.level[f.to[e]] < 0 {
				f.level[f.to[e]] = f.level[u] + 1
				queue = append(queue, f.to[e])
			}
		}
	}
	return f.level[t] >= 0
}

// dfs pushes flow along level-increasing paths. It is iterative so that a
// long chain of steps cannot overflow the goroutine stack.
func (f *flowNet) dfs(s, t int, limit int64) int64 {
	type frame struct {
		u   int
		arc int // arc used to enter u, -1 for s
	}
	var total int64
	for total < limit {
		// Find one augmenting path with the current-arc heuristic.
		path := []frame{{u: s, arc: -1}}
		found := false
		for len(path) > 0 {
			u := path[len(path)-1].u
			if u == t {
				found = true
				break
			}
			advanced := false
			for ; f.iter[u] >= 0; f.iter[u] = f.next[f.iter[u]] {
				e := f.iter[u]
				v := f.to[e]
				if f.cap[e] > 0 && f.level[v] == f.level[u]+1 {
					path = append(path, frame{u: v, arc: e})
					advanced = true
					break
				}
			}
			if !advanced {
				// Dead end: drop u and skip the arc that led here.
				f.level[u] = -1
				path = path[:len(path)-1]
				if len(path) > 0 {
					p := path[len(path)-1].u
					f.iter[p] = f.next[f.iter[p]]
				}
			}
		}
		if !found {
			break
		}
		push := limit - total
		for _, fr := range path[1:] {
			push = min(push, f.cap[fr.arc])
		}
		for _, fr := range path[1:] {
			f.cap[fr.arc] -= push
			f.cap[fr.arc^1] += push
		}
		total += push
	}
	return total
}

func (f *flowNet) maxFlow(s, t int) int64 {
	var flow int64
	for f.bfs(s, t) {
		copy(f.iter, f.head)
		flow += f.dfs(s, t, int64(1)<<62)
	}
	return flow
}

// reachable returns the nodes reachable from s in the residual network:
// after a max flow, the source side of a minimum cut.
func (f *flowNet) reachable(s int) []bool {
	seen := make([]bool, len(f.head))
	seen[s] = true
	stack := []int{s}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for e := f.head[u]; e >= 0; e = f.next[e] {
			if f.cap[e] > 0 && !seen[f.to[e]] {
				seen[f.to[e]] = true
				stack = append(stack, f.to[e])
			}
		}
	}
	return seen
}
