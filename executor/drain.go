package executor

import (
	"context"
	"fmt"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/cluster"
)

// Drain metadata keys: they tie a node's LastDrain to the instance that
// started it, so resume can tell its own finished drain from an older one.
const (
	metaRun  = "nrun_run"
	metaAddr = "nrun_instance"
)

// drain starts a drain (unless this instance's drain is already under way
// or complete) and waits until it is complete: the node reports its last
// drain complete AND no allocation that the drain moves is still
// non-terminal, because Nomad can mark a drain complete while allocations
// are still stopping. The wait is a safe point for a graceful stop.
func (r *runner) drain(ctx, soft context.Context, n *node, args map[string]cty.Value) (string, string, error) {
	id, name, err := r.nodeID(ctx, n, args["node"])
	if err != nil {
		return "", "", err
	}
	deadline, err := durationArg(args, "deadline", time.Hour)
	if err != nil {
		return "", "", err
	}
	if boolArg(args, "force", false) {
		deadline = -1 * time.Second // what `nomad node drain -force` sends
	}
	ignoreSys := boolArg(args, "ignore_system_jobs", false)

	info, _, err := r.nomad.c.Nodes().Info(id, qo(ctx))
	if err != nil {
		return "", "", fmt.Errorf("read node %s: %w", name, err)
	}
	var since uint64
	switch {
	case info.DrainStrategy != nil:
		r.log.Printf("%s: node %s is already draining; waiting for it", n.addr, name)
	case info.LastDrain != nil && info.LastDrain.Status == nomad.DrainStatusComplete &&
		info.LastDrain.Meta[metaRun] == r.runID && info.LastDrain.Meta[metaAddr] == n.addr:
		r.log.Printf("%s: this run's drain of %s already completed", n.addr, name)
	default:
		resp, err := r.nomad.c.Nodes().UpdateDrainOpts(id, &nomad.DrainOptions{
			DrainSpec: &nomad.DrainSpec{Deadline: deadline, IgnoreSystemJobs: ignoreSys},
			Meta:      map[string]string{metaRun: r.runID, metaAddr: n.addr},
		}, wq(ctx))
		if err != nil {
			return "", "", fmt.Errorf("drain node %s: %w", name, err)
		}
		since = resp.NodeModifyIndex
		r.log.Printf("%s: drain of %s started (deadline %s, ignore_system_jobs %v, index %d)", n.addr, name, deadline, ignoreSys, since)
	}
	obs, err := r.waitDrained(ctx, soft, n, id, name, since, ignoreSys)
	if err != nil {
		return "", "", err
	}
	return obs, "", nil
}

type nodeUpdate struct {
	node   *cluster.Node
	allocs *cluster.AllocCount
	err    error
}

// waitDrained follows the node and its allocations (followNode) until the
// drain is complete.
func (r *runner) waitDrained(ctx, soft context.Context, n *node, id, name string, since uint64, ignoreSys bool) (string, error) {
	wctx, cancel := context.WithCancel(soft)
	defer cancel()
	ch := make(chan nodeUpdate, 4)
	startIdx := uint64(0)
	if since > 0 {
		startIdx = since - 1
	}
	r.followNode(wctx, id, true, startIdx, ch)
	var cur *cluster.Node
	var allocs *cluster.AllocCount
	last := ""
	for {
		select {
		case <-soft.Done():
			if ctx.Err() != nil {
				return "", fmt.Errorf("drain of %s: %w", name, ctx.Err())
			}
			return "", errInterrupted
		case u := <-ch:
			if u.err != nil {
				r.log.Printf("%s: drain of %s: %v (retrying)", n.addr, name, u.err)
				continue
			}
			if u.node != nil {
				cur = u.node
			}
			if u.allocs != nil {
				allocs = u.allocs
			}
			if cur == nil || allocs == nil {
				continue
			}
			left := allocs.NonTerminal
			if ignoreSys {
				left -= allocs.System
			}
			status := "none"
			if cur.LastDrain != nil {
				status = cur.LastDrain.Status
			}
			obs := fmt.Sprintf("node %s: draining=%v, last drain %s, %d allocations left", name, cur.Drain, status, left)
			if obs != last {
				last = obs
				r.emit(Event{Kind: EventWait, Addr: n.addr, Check: "drain", Message: obs, AllocsLeft: &left})
			}
			if cur.LastDrain != nil && cur.LastDrain.Status == "canceled" && !cur.Drain {
				return "", fmt.Errorf("the drain of %s was canceled", name)
			}
			if !cur.Drain && status == "complete" && left <= 0 {
				return obs, nil
			}
		}
	}
}
