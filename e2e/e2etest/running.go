package e2etest

import (
	"context"
	"fmt"
	"sync"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// Sample is the job's running allocation count at one index.
type Sample struct {
	At      time.Duration
	Index   uint64
	Running int
	ByNode  map[string]int
	// live counts the non-terminal (pending or running) allocations by
	// node.
	Live map[string]int
}

func (s Sample) String() string {
	return fmt.Sprintf("+%s index %d: %d running %v", s.At.Round(10*time.Millisecond), s.Index, s.Running, s.ByNode)
}

// RunningWatch follows one job's allocations until its context ends.
type RunningWatch struct {
	wg      sync.WaitGroup
	Samples []Sample
}

func (w *RunningWatch) Wait() []Sample {
	w.wg.Wait()
	return w.Samples
}

// watchRunning records the job's running allocation count at every change
// of its allocations, with blocking queries on the job's allocation list
// (each returns as soon as the list's index moves), until ctx ends.
func (e *Env) WatchRunning(ctx context.Context, job string) *RunningWatch {
	w := &RunningWatch{}
	c := e.Nomad()
	start := time.Now()
	e.Follow(ctx, &w.wg, func(q *nomad.QueryOptions) (uint64, error) {
		allocs, meta, err := c.Jobs().Allocations(job, false, q)
		if err != nil {
			return 0, err
		}
		s := Sample{At: time.Since(start), Index: meta.LastIndex, ByNode: map[string]int{}, Live: map[string]int{}}
		for _, a := range allocs {
			switch a.ClientStatus {
			case nomad.AllocClientStatusPending, nomad.AllocClientStatusRunning:
				s.Live[a.NodeName]++
			}
			if a.ClientStatus == nomad.AllocClientStatusRunning {
				s.Running++
				s.ByNode[a.NodeName]++
			}
		}
		if meta.LastIndex != q.WaitIndex || len(w.Samples) == 0 {
			w.Samples = append(w.Samples, s)
		}
		return meta.LastIndex, nil
	})
	return w
}
