package planner

import (
	"math/rand/v2"
	"testing"
)

// bruteWorstMoment enumerates every down-set I and every antichain R of
// maximal elements of I. It is the definition worstMoment must match.
func bruteWorstMoment(nodes []closureNode) int64 {
	n := len(nodes)
	best := int64(0)
	for started := 0; started < 1<<n; started++ {
		downSet := true
		for u := 0; u < n && downSet; u++ {
			if started&(1<<u) == 0 {
				continue
			}
			for _, p := range nodes[u].preds {
				if started&(1<<p) == 0 {
					downSet = false
				}
			}
		}
		if !downSet {
			continue
		}
		// A started step may still be running only if no started step
		// depends on it.
		var maximal int
		for u := 0; u < n; u++ {
			if started&(1<<u) == 0 {
				continue
			}
			isMax := true
			for v := 0; v < n; v++ {
				if started&(1<<v) == 0 {
					continue
				}
				for _, p := range nodes[v].preds {
					if p == u {
						isMax = false
					}
				}
			}
			if isMax {
				maximal |= 1 << u
			}
		}
		for running := maximal; ; running = (running - 1) & maximal {
			var sum int64
			for u := 0; u < n; u++ {
				switch {
				case running&(1<<u) != 0:
					sum += max(nodes[u].run, nodes[u].fin, 0)
				case started&(1<<u) != 0:
					sum += nodes[u].fin
				}
			}
			best = max(best, sum)
			if running == 0 {
				break
			}
		}
	}
	return best
}

func TestWorstMomentMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 3000 {
		n := 1 + r.IntN(9)
		nodes := make([]closureNode, n)
		for v := range nodes {
			for u := 0; u < v; u++ {
				if r.IntN(4) == 0 {
					nodes[v].preds = append(nodes[v].preds, u)
				}
			}
			nodes[v].run = int64(r.IntN(7) - 1)
			nodes[v].fin = int64(r.IntN(9) - 4)
		}
		got, states := worstMoment(nodes)
		want := bruteWorstMoment(nodes)
		if got != want {
			t.Fatalf("trial %d: worstMoment = %d, brute force = %d, nodes %+v", trial, got, want, nodes)
		}
		// The witness must be a reachable moment worth exactly got.
		var sum int64
		for u, st := range states {
			switch st {
			case stateRunning:
				sum += max(nodes[u].run, nodes[u].fin, 0)
			case stateFinished:
				sum += nodes[u].fin
			}
			if st == stateNotStarted {
				continue
			}
			for _, p := range nodes[u].preds {
				if states[p] != stateFinished {
					t.Fatalf("trial %d: step %d is %v but its parent %d is %v", trial, u, st, p, states[p])
				}
			}
		}
		if sum != got {
			t.Fatalf("trial %d: witness is worth %d, want %d", trial, sum, got)
		}
	}
}

func TestWorstMomentAntichain(t *testing.T) {
	// Weighted Dilworth: with only transient weights, the answer is the
	// heaviest antichain. a→b, a→c, c→d; b and d unordered.
	nodes := []closureNode{
		{run: 1},
		{run: 2, preds: []int{0}},
		{run: 1, preds: []int{0}},
		{run: 2, preds: []int{2}},
	}
	got, states := worstMoment(nodes)
	if got != 4 {
		t.Fatalf("worstMoment = %d, want 4 (b and d together)", got)
	}
	if states[1] != stateRunning || states[3] != stateRunning {
		t.Fatalf("witness %v, want b and d running", states)
	}
}

func TestWorstMomentLongChain(t *testing.T) {
	// A chain deep enough to overflow a recursive DFS must still work.
	nodes := make([]closureNode, 200000)
	for i := range nodes {
		nodes[i].run = 2
		nodes[i].fin = 1
		if i > 0 {
			nodes[i].preds = []int{i - 1}
		}
	}
	got, _ := worstMoment(nodes)
	if want := int64(len(nodes)-1) + 2; got != want {
		t.Fatalf("worstMoment = %d, want %d", got, want)
	}
}
