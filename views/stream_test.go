package views

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/executor/journal"
)

// TestStreamGolden renders one message of every type the stream has, from
// fixed events at a fixed time, against testdata/stream.golden.
func TestStreamGolden(t *testing.T) {
	at := time.Date(2026, 12, 6, 1, 2, 3, 456000000, time.UTC)
	ev := func(k executor.EventKind, e executor.Event) executor.Event {
		e.Kind, e.Time, e.RunID = k, at, "20261206T010203Z-abc123"
		return e
	}
	a := `step.drain["c1"]`
	var buf bytes.Buffer
	s := &Stream{W: &buf}
	s.Write(VersionMessage("0.1.0-dev", at))
	for _, e := range []executor.Event{
		ev(executor.EventRunStart, executor.Event{Message: "run"}),
		ev(executor.EventStart, executor.Event{Addr: a, Action: "nomad_node_drain"}),
		ev(executor.EventPrecondition, executor.Event{Addr: a, Check: "quorum_ok", OK: true, Message: "3/3 voters healthy"}),
		ev(executor.EventPrecondition, executor.Event{Addr: a, Check: "node_eligible", OK: false, Message: "c1 is ineligible"}),
		ev(executor.EventAction, executor.Event{Addr: a, Action: "nomad_node_drain", Attempt: 2}),
		ev(executor.EventActionDone, executor.Event{Addr: a, Action: "nomad_node_drain", Elapsed: 1500 * time.Millisecond, Message: "drain started"}),
		ev(executor.EventOutput, executor.Event{Addr: a, Message: "a line of output"}),
		ev(executor.EventWait, executor.Event{Addr: a, Check: "node_drained", Message: "3 allocations left"}),
		ev(executor.EventWaitDone, executor.Event{Addr: a, Check: "node_drained", Elapsed: 42 * time.Second}),
		ev(executor.EventFinished, executor.Event{Addr: a, Elapsed: 44 * time.Second}),
		ev(executor.EventFailed, executor.Event{Addr: a, Message: "exec sh: exit status 1"}),
		ev(executor.EventSkipped, executor.Event{Addr: a, Message: "step.a failed"}),
		ev(executor.EventPaused, executor.Event{Addr: a, Message: "waiting for approval"}),
		ev(executor.EventProbe, executor.Event{Addr: a, Message: "the node is draining"}),
		ev(executor.EventInfo, executor.Event{Message: "the journal cannot be written"}),
		ev(executor.EventHeartbeat, executor.Event{Running: []executor.Running{
			{Addr: a, Action: "nomad_node_drain", Wait: "node_drained: 3 allocations left", Elapsed: 250 * time.Second}}}),
		ev(executor.EventOutputs, executor.Event{Outputs: []executor.OutputValue{
			{Name: "leader", Value: []byte(`"s2"`), Text: `"s2"`}, {Name: "pw", Sensitive: true, Text: executor.SensitiveText}}}),
		ev(executor.EventRunEnd, executor.Event{Status: "finished"}),
	} {
		ApplyStream{S: s}.Event(e)
	}
	diags, files := sample(t)
	s.Write(DiagnosticMessages(diags, files, at)...)
	s.Write(SummaryMessage(&executor.Result{RunID: "20261206T010203Z-abc123", Status: journal.StatusFinished,
		Finished: []string{a}, Failed: []string{"step.b"}}, 1, at))
	checkGolden(t, "stream.golden", buf.Bytes())

	// Every line carries the four common fields and a type.
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		for _, k := range []string{"@level", "@message", "@module", "@timestamp", "type"} {
			if v, ok := m[k].(string); !ok || v == "" {
				t.Errorf("%s missing in %s", k, line)
			}
		}
	}
}

// TestStreamUnknownEventKept: an event kind the table does not know is
// written under its own name, never dropped.
func TestStreamUnknownEventKept(t *testing.T) {
	m := EventMessage(executor.Event{Kind: "something_new", Addr: "step.x", Message: "m"})
	if m.Type != "something_new" || m.Instance == nil || m.Instance.Addr != "step.x" {
		t.Fatalf("got %+v", m)
	}
}

type brokenPipe struct{ writes int }

func (b *brokenPipe) Write(p []byte) (int, error) {
	b.writes++
	return 0, &errorsWrap{syscall.EPIPE}
}

type errorsWrap struct{ err error }

func (e *errorsWrap) Error() string { return "write |1: " + e.err.Error() }
func (e *errorsWrap) Unwrap() error { return e.err }

// TestStreamClosedReader: after EPIPE the stream stops writing (and never
// fails the caller), so `nrun apply -json | head` cannot stop a run.
func TestStreamClosedReader(t *testing.T) {
	w := &brokenPipe{}
	s := &Stream{W: w}
	for i := 0; i < 5; i++ {
		s.Write(VersionMessage("x", time.Now()))
	}
	if w.writes != 1 {
		t.Fatalf("%d writes after EPIPE, want 1", w.writes)
	}
	if !errors.Is(&errorsWrap{syscall.EPIPE}, syscall.EPIPE) {
		t.Fatal("unwrap")
	}
}
