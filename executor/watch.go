package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/cluster"
)

// This file is the shared watcher: one subscription per run to Nomad's
// event stream (topics Node and Allocation) that wakes the waits on
// nodes, instead of each wait running its own blocking queries. The
// deployment waits keep their blocking queries (cluster.WatchDeployment):
// a run follows a few deployments at most, not one per node.
//
// A wake means "re-read now", never "it holds": every wait re-reads the
// cluster and re-evaluates its check on a wake, on every (re)connect of the
// stream (the stream's buffer can drop events, so a reconnect is a re-list)
// and on a slow fallback timer. A silent or broken stream therefore makes a
// wait slower, never wrong, and the wait's own timeout stays.

// Wait sources (Config.WaitSource, NRUN_WAIT_SOURCE).
const (
	// WaitSourceStream wakes node waits from the shared event stream.
	WaitSourceStream = "stream"
	// WaitSourceBlocking runs blocking queries per wait.
	WaitSourceBlocking = "blocking"
)

// defaultWaitSource is the wait source when neither Config.WaitSource nor
// NRUN_WAIT_SOURCE sets one. Measured (BenchmarkWaitSource, README "At
// scale"): the stream sends about 13 % fewer requests on eight concurrent
// drains but reacts later (median 22 to 34 ms against 18 to 19 ms, the
// slowest 126 to 145 ms against 42 to 80 ms), because an allocation event still needs a read of the
// node's allocations, one round trip after the event, where a blocking
// query returns the new state itself; and an idle wait re-reads on its
// fallback timer (30s) where a blocking query waits a minute. Blocking
// queries keep the reaction time for a small saving forgone.
const defaultWaitSource = WaitSourceBlocking

// What a wake says changed, so a wait re-reads only that.
const (
	// wakeNode: re-read the node.
	wakeNode uint32 = 1 << iota
	// wakeAllocs: re-read the node's allocations.
	wakeAllocs
	// wakeNodeEvent: a Node event carried the node's record
	// (watch.payload); no read is needed unless wakeNode is set too.
	wakeNodeEvent
	wakeAll = wakeNode | wakeAllocs
)

// streamFunc opens one subscription; the channel closes or carries an
// Events with Err when it ends. Tests pass a fake.
type streamFunc func(ctx context.Context) (<-chan *nomad.Events, error)

// watcher is the run's shared subscription and the waits registered on it.
type watcher struct {
	open streamFunc
	// retry is the pause before reconnecting after a failed or ended
	// subscription.
	retry time.Duration
	// say reports, once, that the stream cannot be used.
	say func(string)
	// note writes to the audit log (a subscription that ended).
	note func(string)

	mu   sync.Mutex
	subs map[*watch]struct{}
	// err is set when the stream was refused for good (no permission):
	// every wait then falls back to blocking queries.
	err error
	// connects counts the subscriptions opened (tests, the audit log).
	connects int
	done     chan struct{}
}

// watch is one registered wait: the node it follows, and a channel that
// holds at most one pending wake.
type watch struct {
	node    string
	pending atomic.Uint32
	ch      chan struct{}
	// latest is the node record of the last Node event (under mu): the
	// server's state at that event's index, used as a read would be.
	mu     sync.Mutex
	latest *nomad.Node
}

// payload returns the node record of the last Node event, once.
func (s *watch) payload() *nomad.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.latest
	s.latest = nil
	return n
}

func newWatcher(open streamFunc, say func(string)) *watcher {
	return &watcher{open: open, retry: time.Second, say: say, note: func(string) {}, subs: map[*watch]struct{}{}, done: make(chan struct{})}
}

// register starts following node; the first wake is already pending, so
// the wait reads its state at once.
func (w *watcher) register(node string) *watch {
	s := &watch{node: node, ch: make(chan struct{}, 1)}
	s.wake(wakeAll)
	w.mu.Lock()
	w.subs[s] = struct{}{}
	w.mu.Unlock()
	return s
}

func (w *watcher) unregister(s *watch) {
	w.mu.Lock()
	delete(w.subs, s)
	w.mu.Unlock()
}

// failed is the error that made the stream unusable, nil while it is
// usable.
func (w *watcher) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (s *watch) wake(what uint32) {
	s.pending.Or(what)
	select {
	case s.ch <- struct{}{}:
	default:
	}
}

// take returns what changed since the last take.
func (s *watch) take() uint32 { return s.pending.Swap(0) }

func (w *watcher) wakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for s := range w.subs {
		s.wake(wakeAll)
	}
}

func (w *watcher) wakeNode(node string, what uint32) {
	if node == "" {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for s := range w.subs {
		if s.node == node {
			s.wake(what)
		}
	}
}

// run keeps one subscription open until ctx ends or the stream is refused
// for good. Every (re)connect wakes every wait: events sent while no
// subscription was open are lost, so each wait re-reads its state once.
func (w *watcher) run(ctx context.Context) {
	defer close(w.done)
	failures := 0
	for ctx.Err() == nil {
		ch, err := w.open(ctx)
		if err == nil {
			w.mu.Lock()
			w.connects++
			w.mu.Unlock()
			w.wakeAll()
			var frames int
			frames, err = w.follow(ctx, ch)
			if frames > 0 {
				failures = 0
			}
		}
		if ctx.Err() != nil {
			return
		}
		if denied(err) {
			w.mu.Lock()
			w.err = err
			w.mu.Unlock()
			w.say(fmt.Sprintf("the Nomad event stream cannot be read (%v); waits on nodes use blocking queries instead. Grant node:read and read-job in namespace \"*\" (nrun policy lists them) to use the stream", err))
			w.wakeAll()
			return
		}
		// The subscription ended (a server restarted, the connection
		// dropped); the waits' fallback timers keep them going meanwhile.
		// A subscription that worked is opened again at once, one that
		// failed after a pause.
		w.note(fmt.Sprintf("the Nomad event stream ended (%v); subscribing again", err))
		// Failures in a row back off from retry, doubling up to 30s (a
		// stream the servers do not offer must not cost a request a
		// second; the waits' fallback reads go on meanwhile).
		failures++
		if failures == 1 {
			continue
		}
		d := w.retry << min(failures-2, 5)
		if d > 30*time.Second {
			d = 30 * time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
	}
}

// follow wakes the waits the events concern until the subscription ends,
// and says how many frames it got.
// The first frame of a connection (an event or a heartbeat) wakes every
// wait once more: the server may have answered before it subscribed, and
// a change in between would be in neither the wait's read nor the stream.
func (w *watcher) follow(ctx context.Context, ch <-chan *nomad.Events) (frames int, err error) {
	for {
		var evs *nomad.Events
		var ok bool
		select {
		case <-ctx.Done():
			return frames, ctx.Err()
		case evs, ok = <-ch:
		}
		if !ok {
			return frames, errors.New("the event stream closed")
		}
		if evs == nil {
			continue
		}
		if evs.Err != nil {
			return frames, evs.Err
		}
		frames++
		if frames == 1 {
			w.wakeAll()
		}
		for i := range evs.Events {
			w.dispatch(&evs.Events[i])
		}
	}
}

// dispatch wakes the waits one event concerns, read from the payload
// without decoding all of it.
func (w *watcher) dispatch(ev *nomad.Event) {
	switch ev.Topic {
	case nomad.TopicNode:
		w.nodeEvent(ev)
	case nomad.TopicAllocation:
		a, _ := ev.Payload["Allocation"].(map[string]any)
		id, _ := a["NodeID"].(string)
		w.wakeNode(id, wakeAllocs)
	}
}

// nodeEvent hands a Node event's record to the waits on that node, decoded
// only when one waits on it; a record that cannot be decoded, or a
// deregistration, makes them re-read.
func (w *watcher) nodeEvent(ev *nomad.Event) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var n *nomad.Node
	decoded := false
	for s := range w.subs {
		if s.node != ev.Key {
			continue
		}
		if !decoded {
			decoded = true
			if ev.Type != "NodeDeregistration" {
				n, _ = ev.Node()
			}
		}
		if n == nil || n.ID != s.node {
			s.wake(wakeNode)
			continue
		}
		s.mu.Lock()
		if s.latest == nil || s.latest.ModifyIndex < n.ModifyIndex {
			s.latest = n
		}
		s.mu.Unlock()
		s.wake(wakeNodeEvent)
	}
}

// denied says whether a subscription failed for lack of permission,
// which retrying does not fix.
func denied(err error) bool {
	if err == nil {
		return false
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "permission denied") || strings.Contains(s, "403")
}

// nomadStream subscribes to the topics the node waits need, in every
// namespace, from now on (index 0: what happened before is re-read by the
// waits themselves).
func nomadStream(c *nomad.Client) streamFunc {
	return func(ctx context.Context) (<-chan *nomad.Events, error) {
		topics := map[nomad.Topic][]string{
			nomad.TopicNode:       {"*"},
			nomad.TopicAllocation: {"*"},
		}
		q := (&nomad.QueryOptions{Namespace: "*", AllowStale: true}).WithContext(ctx)
		return c.EventStream().Stream(ctx, topics, 0, q)
	}
}

// waitSource is the run's wait source: Config.WaitSource, else
// NRUN_WAIT_SOURCE, else the default.
func waitSource(cfg string, getenv func(string) string) (string, error) {
	s := cfg
	if s == "" {
		s = getenv("NRUN_WAIT_SOURCE")
	}
	switch s {
	case "":
		return defaultWaitSource, nil
	case WaitSourceStream, WaitSourceBlocking:
		return s, nil
	}
	return "", fmt.Errorf("wait source %q: want %q or %q", s, WaitSourceStream, WaitSourceBlocking)
}

// streamWatcher is the run's shared watcher, started by the first wait
// that asks; nil when waits use blocking queries (by choice, without a
// Nomad client, or once the stream was refused).
func (r *runner) streamWatcher() *watcher {
	if r.waitSrc != WaitSourceStream || r.nomad == nil || r.watchCtx == nil {
		return nil
	}
	r.watchOnce.Do(func() {
		open := r.openStream
		if open == nil {
			open = nomadStream(r.nomad.c)
		}
		r.watch = newWatcher(open, func(msg string) {
			r.log.Printf("%s", msg)
			r.emit(Event{Kind: EventInfo, Message: msg})
		})
		r.watch.note = func(msg string) { r.log.Printf("%s", msg) }
		go r.watch.run(r.watchCtx)
	})
	if r.watch.failed() != nil {
		return nil
	}
	return r.watch
}

// followNode sends the node (and, withAllocs, its allocation counts) to ch
// on every change until ctx ends: woken by the shared stream, or with
// blocking queries. nodeIdx is the wait index of the first node read (0:
// any state); a read from a server that has not passed it waits.
func (r *runner) followNode(ctx context.Context, id string, withAllocs bool, nodeIdx uint64, ch chan<- nodeUpdate) {
	if w := r.streamWatcher(); w != nil {
		go r.streamNode(ctx, w, id, withAllocs, nodeIdx, ch)
		return
	}
	r.blockNode(ctx, id, withAllocs, nodeIdx, ch)
}

// blockNode follows the node and its allocations with a loop of blocking
// queries each.
func (r *runner) blockNode(ctx context.Context, id string, withAllocs bool, nodeIdx uint64, ch chan<- nodeUpdate) {
	follow := func(read func(uint64) (nodeUpdate, uint64), start uint64) {
		idx := start
		for ctx.Err() == nil {
			u, next := read(idx)
			if u.err != nil && ctx.Err() != nil {
				return
			}
			select {
			case ch <- u:
			case <-ctx.Done():
				return
			}
			if u.err != nil {
				select { // a server restarting; try again
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
				continue
			}
			if next < idx {
				next = 0 // the index went backwards (a new leader's state); restart
			}
			idx = next
		}
	}
	go follow(func(i uint64) (nodeUpdate, uint64) {
		nd, next, err := r.cfg.Cluster.WaitNode(ctx, id, i)
		return nodeUpdate{node: &nd, err: err}, next
	}, nodeIdx)
	if withAllocs {
		go follow(func(i uint64) (nodeUpdate, uint64) {
			a, next, err := r.cfg.Cluster.WaitNodeAllocs(ctx, id, i)
			return nodeUpdate{allocs: &a, err: err}, next
		}, 0)
	}
}

// streamNode re-reads what a wake says changed, on every (re)connect of
// the stream, and every fallback interval whatever the stream says. A read
// never goes back behind what was read before: it asks for an index at
// least the last one seen, which a server that is up to date answers at
// once.
func (r *runner) streamNode(ctx context.Context, w *watcher, id string, withAllocs bool, nodeIdx uint64, ch chan<- nodeUpdate) {
	s := w.register(id)
	defer w.unregister(s)
	fallback := r.waitFallback
	if fallback <= 0 {
		fallback = 30 * time.Second
	}
	t := time.NewTimer(fallback)
	defer t.Stop()
	send := func(u nodeUpdate) bool {
		select {
		case ch <- u:
			return true
		case <-ctx.Done():
			return false
		}
	}
	allocIdx := uint64(0)
	// seen is the index of the newest node record sent: an event's
	// record older than a read's is dropped.
	seen := uint64(0)
	for ctx.Err() == nil {
		if w.failed() != nil {
			r.blockNode(ctx, id, withAllocs, nodeIdx, ch)
			return
		}
		what := s.take()
		retry := false
		if what&wakeNode != 0 {
			nd, next, err := r.cfg.Cluster.WaitNode(ctx, id, nodeIdx)
			if !send(nodeUpdate{node: &nd, err: err}) {
				return
			}
			if err != nil {
				retry = true
				s.pending.Or(wakeNode)
			} else {
				seen = max(seen, next)
				if b := below(next); b > nodeIdx {
					nodeIdx = b
				}
			}
		}
		if withAllocs && what&wakeAllocs != 0 {
			a, next, err := r.cfg.Cluster.WaitNodeAllocs(ctx, id, allocIdx)
			if !send(nodeUpdate{allocs: &a, err: err}) {
				return
			}
			if err != nil {
				retry = true
				s.pending.Or(wakeAllocs)
			} else if b := below(next); b > allocIdx {
				allocIdx = b
			}
		}
		// An event's record is sent when no read was newer (a read may
		// have run on a server that is behind the stream's).
		if p := s.payload(); p != nil && p.ModifyIndex > seen && p.ModifyIndex > nodeIdx {
			nd := cluster.NodeFromAPI(p)
			if !send(nodeUpdate{node: &nd}) {
				return
			}
			seen = p.ModifyIndex
		}
		var again <-chan time.Time
		if retry {
			again = time.After(time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.ch:
		case <-again:
		case <-t.C:
			s.pending.Or(wakeAll)
			t.Reset(fallback)
		}
	}
}

// below is the wait index that returns at once from a server that has
// seen index i: a blocking query returns once the object's index passes
// the one asked for.
func below(i uint64) uint64 {
	if i == 0 {
		return 0
	}
	return i - 1
}

// stopWatcher ends the run's subscription and waits for it, so nothing
// is logged after the audit log closes.
func (r *runner) stopWatcher() {
	r.stopWatch()
	r.watchOnce.Do(func() {}) // no watcher starts after this
	if r.watch != nil {
		<-r.watch.done
		r.log.Printf("wait source: event stream, %d subscription(s) opened", r.watch.connections())
	}
}

func (w *watcher) connections() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.connects
}
