package executor

import (
	"sync"
	"time"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// settleLog keeps the cluster reads of the settle-based poll waits
// (lang.WaitStrategy.Settle) made since the last action that can change
// the cluster finished, while none runs. A settle wait that starts later
// (the verify step after the last server's server_healthy) may count its
// settle time from the earliest of those reads its own check holds on,
// every later one included: the settle then overlaps the wait before it
// instead of following it. The check is still evaluated on every read it
// counts, each one made after the last change, and on a fresh read of its
// own.
type settleLog struct {
	mu sync.Mutex
	// busy counts actions in flight that can change the cluster: no read
	// is kept and none is lent while one runs.
	busy int
	// epoch is when the last of them began or ended: a read that began
	// before it is not kept.
	epoch time.Time
	reads []settleRead
}

type settleRead struct {
	at time.Time // when the read began
	v  *cluster.View
}

// settleLogMax bounds the reads kept: more than a settle time's worth at
// the polls' cadence (at least PollMin apart).
const settleLogMax = 64

// changes says whether an action can change the cluster, so that reads
// from before it say nothing about after it: everything but a snapshot
// and exec's declared effect = "none".
func changes(a *lang.Action) bool {
	return a != nil && a.Effect != lang.EffectNone && a.Effect != lang.EffectSnapshot
}

// begin marks the start of a change: the reads so far are dropped.
func (l *settleLog) begin(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.busy++
	l.epoch, l.reads = now, nil
}

// end marks the end of a change: reads made during it are dropped too.
func (l *settleLog) end(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy > 0 {
		l.busy--
	}
	l.epoch, l.reads = now, nil
}

// add keeps a read that began at at.
func (l *settleLog) add(at time.Time, v *cluster.View) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy > 0 || at.Before(l.epoch) || v == nil {
		return
	}
	if n := len(l.reads); n > 0 && at.Before(l.reads[n-1].at) {
		// Reads of concurrent waits may finish out of order: keep them
		// sorted by start.
		i := n
		for i > 0 && at.Before(l.reads[i-1].at) {
			i--
		}
		l.reads = append(l.reads[:i], append([]settleRead{{at, v}}, l.reads[i:]...)...)
	} else {
		l.reads = append(l.reads, settleRead{at, v})
	}
	if len(l.reads) > settleLogMax {
		l.reads = append([]settleRead(nil), l.reads[len(l.reads)-settleLogMax:]...)
	}
}

// heldSince returns the start of the earliest kept read from which holds
// is true on every kept read up to the one that began at last (which must
// be kept: the caller's own fresh read), with no two consecutive reads
// more than gap apart, and how many reads that is. It returns last and 1
// when no earlier read qualifies or a change is in flight.
func (l *settleLog) heldSince(last time.Time, gap time.Duration, holds func(*cluster.View) bool) (time.Time, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.busy > 0 {
		return last, 1
	}
	i := len(l.reads) - 1
	for i >= 0 && !l.reads[i].at.Equal(last) {
		i--
	}
	if i < 0 {
		return last, 1
	}
	from, n := last, 1
	for j := i - 1; j >= 0; j-- {
		if l.reads[j+1].at.Sub(l.reads[j].at) > gap || !holds(l.reads[j].v) {
			break
		}
		from = l.reads[j].at
		n++
	}
	return from, n
}
