package executor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// fakeStream hands out one channel per subscription, so a test can end a
// subscription at an exact moment and see the watcher reconnect.
type fakeStream struct {
	mu     sync.Mutex
	opened chan chan *nomad.Events
	refuse error
}

func newFakeStream() *fakeStream { return &fakeStream{opened: make(chan chan *nomad.Events, 4)} }

func (f *fakeStream) open(ctx context.Context) (<-chan *nomad.Events, error) {
	f.mu.Lock()
	err := f.refuse
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ch := make(chan *nomad.Events)
	f.opened <- ch
	return ch, nil
}

func (f *fakeStream) next(t *testing.T) chan *nomad.Events {
	t.Helper()
	select {
	case ch := <-f.opened:
		return ch
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher did not subscribe")
		return nil
	}
}

// woken waits for s's next wake and returns what it says changed.
func woken(t *testing.T, s *watch) uint32 {
	t.Helper()
	select {
	case <-s.ch:
		return s.take()
	case <-time.After(10 * time.Second):
		t.Fatal("the wait was not woken")
		return 0
	}
}

// notWoken checks that s has no wake pending once the watcher has
// handled everything sent before (the fake's channels are unbuffered, so
// a send returns only once the watcher took the frame; a heartbeat after
// it proves the frame was dispatched).
func notWoken(t *testing.T, s *watch) {
	t.Helper()
	select {
	case <-s.ch:
		t.Fatalf("woken for nothing (pending %b)", s.take())
	default:
	}
}

func nodeEvent(id string, index uint64) *nomad.Events {
	return &nomad.Events{Index: index, Events: []nomad.Event{{Topic: nomad.TopicNode, Type: "NodeDrain", Key: id, Index: index,
		Payload: map[string]any{"Node": map[string]any{"ID": id, "ModifyIndex": index, "SchedulingEligibility": "ineligible"}}}}}
}

func allocEvent(node string) *nomad.Events {
	return &nomad.Events{Index: 11, Events: []nomad.Event{{Topic: nomad.TopicAllocation, Key: "a1", Payload: map[string]any{"Allocation": map[string]any{"ID": "a1", "NodeID": node}}}}}
}

func TestWatcherWakesByNode(t *testing.T) {
	f := newFakeStream()
	w := newWatcher(f.open, func(string) { t.Error("the stream was reported unusable") })
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); <-w.done }()
	s1, s2 := w.register("n1"), w.register("n2")
	if got := s1.take(); got != wakeAll {
		t.Fatalf("a new wait must read at once: pending %b", got)
	}
	s2.take()
	<-s1.ch
	<-s2.ch
	go w.run(ctx)
	ch := f.next(t)
	// The connect and the first frame are re-lists: every wait re-reads.
	if got := woken(t, s1); got != wakeAll {
		t.Errorf("connect: pending %b, want every read", got)
	}
	woken(t, s2)
	ch <- &nomad.Events{} // heartbeat: the first frame
	woken(t, s1)
	woken(t, s2)

	ch <- nodeEvent("n1", 10)
	ch <- &nomad.Events{}
	if got := woken(t, s1); got != wakeNodeEvent {
		t.Errorf("node event: pending %b, want the node's record only", got)
	}
	if p := s1.payload(); p == nil || p.ModifyIndex != 10 || p.SchedulingEligibility != "ineligible" {
		t.Errorf("node event: record %+v, want the payload's", p)
	}
	if p := s1.payload(); p != nil {
		t.Errorf("a record is handed out once, got it twice")
	}
	notWoken(t, s2)
	// Two events before the wait takes them: the newer record wins.
	ch <- nodeEvent("n1", 12)
	ch <- nodeEvent("n1", 11)
	ch <- &nomad.Events{}
	woken(t, s1)
	if p := s1.payload(); p == nil || p.ModifyIndex != 12 {
		t.Errorf("record %+v, want index 12", p)
	}
	// A deregistration carries no usable record: re-read.
	ch <- &nomad.Events{Events: []nomad.Event{{Topic: nomad.TopicNode, Type: "NodeDeregistration", Key: "n1"}}}
	ch <- &nomad.Events{}
	if got := woken(t, s1); got != wakeNode {
		t.Errorf("deregistration: pending %b, want a re-read of the node", got)
	}
	ch <- allocEvent("n2")
	ch <- &nomad.Events{}
	if got := woken(t, s2); got != wakeAllocs {
		t.Errorf("allocation event: pending %b, want the allocations only", got)
	}
	notWoken(t, s1)
	// A burst coalesces into one wake holding both.
	ch <- nodeEvent("n1", 13)
	ch <- allocEvent("n1")
	ch <- &nomad.Events{}
	if got := woken(t, s1); got != wakeNodeEvent|wakeAllocs {
		t.Errorf("burst: pending %b, want both", got)
	}
	notWoken(t, s1)
	s1.payload()
	w.unregister(s1)
	ch <- nodeEvent("n1", 14)
	ch <- &nomad.Events{}
	notWoken(t, s1)
}

// TestWatcherReconnectRelists ends the subscription right after an event
// for n1 was lost (sent while no subscription was open, as a dropped
// buffer would): the reconnect must wake n1's wait to re-read anyway.
func TestWatcherReconnectRelists(t *testing.T) {
	for name, end := range map[string]func(ch chan *nomad.Events){
		"closed": func(ch chan *nomad.Events) { close(ch) },
		"error":  func(ch chan *nomad.Events) { ch <- &nomad.Events{Err: errors.New("connection reset by peer")} },
		"buffer error": func(ch chan *nomad.Events) {
			ch <- &nomad.Events{Err: errors.New("subscription closed by server, client may resubscribe")}
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeStream()
			w := newWatcher(f.open, func(string) { t.Error("a dropped subscription is no refusal") })
			w.retry = time.Millisecond
			ctx, cancel := context.WithCancel(context.Background())
			defer func() { cancel(); <-w.done }()
			s := w.register("n1")
			go w.run(ctx)
			ch := f.next(t)
			ch <- &nomad.Events{}
			ch <- &nomad.Events{}
			s.take()
			select {
			case <-s.ch:
			default:
			}
			end(ch)
			ch2 := f.next(t)
			if got := woken(t, s); got != wakeAll {
				t.Errorf("reconnect: pending %b, want a re-read of everything", got)
			}
			ch2 <- &nomad.Events{}
			woken(t, s)
			if w.connections() != 2 {
				t.Errorf("%d subscriptions, want 2", w.connections())
			}
			if w.failed() != nil {
				t.Errorf("failed: %v", w.failed())
			}
		})
	}
}

// TestWatcherRefusedFallsBack: a token without the permission makes the
// watcher give up once, say so, and wake every wait so it switches to
// blocking queries.
func TestWatcherRefusedFallsBack(t *testing.T) {
	f := newFakeStream()
	f.refuse = errors.New("Unexpected response code: 403 (Permission denied)")
	var said []string
	w := newWatcher(f.open, func(s string) { said = append(said, s) })
	s := w.register("n1")
	s.take()
	<-s.ch
	w.run(context.Background())
	if w.failed() == nil {
		t.Fatal("a refused stream must be reported failed")
	}
	if len(said) != 1 {
		t.Fatalf("said %d times, want once: %q", len(said), said)
	}
	if got := woken(t, s); got != wakeAll {
		t.Errorf("pending %b, want every read", got)
	}
}

func TestWaitSource(t *testing.T) {
	env := func(v string) func(string) string { return func(string) string { return v } }
	for name, tc := range map[string]struct {
		cfg, env, want string
		err            bool
	}{
		"default":         {"", "", defaultWaitSource, false},
		"env":             {"", "blocking", WaitSourceBlocking, false},
		"config wins":     {"stream", "blocking", WaitSourceStream, false},
		"unknown refused": {"", "polling", "", true},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := waitSource(tc.cfg, env(tc.env))
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("got %q, %v; want %q (error %v)", got, err, tc.want, tc.err)
			}
		})
	}
}
