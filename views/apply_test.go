package views

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/executor/journal"
)

var t0 = time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)

func TestEventLine(t *testing.T) {
	tests := map[string]struct {
		e    executor.Event
		want string
	}{
		"start":        {executor.Event{Kind: executor.EventStart, Addr: `step.a["x"]`, Action: "exec"}, `step.a["x"]: starting (exec)`},
		"precondition": {executor.Event{Kind: executor.EventPrecondition, Addr: "step.a", Check: "quorum_ok", Message: "quorum_ok: ...: not ok"}, "step.a: precondition quorum_ok: BLOCKED (quorum_ok: ...: not ok)"},
		"retry":        {executor.Event{Kind: executor.EventAction, Addr: "step.a", Action: "exec", Attempt: 2}, "step.a: exec, attempt 2"},
		"wait":         {executor.Event{Kind: executor.EventWait, Addr: "step.a", Message: "server_healthy: s1: ok"}, "step.a: waiting: server_healthy: s1: ok"},
		"finished":     {executor.Event{Kind: executor.EventFinished, Addr: "step.a", Elapsed: 1500 * time.Millisecond}, "step.a: finished (1.5s)"},
		"paused":       {executor.Event{Kind: executor.EventPaused, Addr: "step.a", Message: "approval needed: go?"}, "step.a: PAUSED: approval needed: go?"},
		"end":          {executor.Event{Kind: executor.EventRunEnd, RunID: "r1", Status: "failed"}, "run r1: failed"},
		"heartbeat": {executor.Event{Kind: executor.EventHeartbeat, Running: []executor.Running{
			{Addr: `step.drain["c1"]`, Action: "nomad_node_drain", Wait: "node_drained: 3 allocations left", Elapsed: 250*time.Second + 200*time.Millisecond},
			{Addr: "step.b", Action: "exec", Elapsed: 90 * time.Second},
			{Addr: "step.c", Elapsed: time.Second},
		}}, "still waiting: step.drain[\"c1\"] node_drained: 3 allocations left (4m10s)\nstill running: step.b exec (1m30s)\nstill running: step.c (1s)"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := EventLine(tc.e); got != tc.want {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestApplyText(t *testing.T) {
	var b bytes.Buffer
	v := &ApplyText{W: &b}
	v.Event(executor.Event{Time: t0, Kind: executor.EventFinished, Addr: "step.a"})
	if got := b.String(); got != "2026-11-22T07:00:00.000Z step.a: finished\n" {
		t.Errorf("text: %q", got)
	}
}

func TestApplyProgressFooter(t *testing.T) {
	var b bytes.Buffer
	now := t0.Add(12 * time.Second)
	v := &ApplyProgress{W: &b, Now: func() time.Time { return now }}
	v.Event(executor.Event{Time: t0, Kind: executor.EventStart, Addr: "step.a", Action: "nomad_node_drain"})
	v.Event(executor.Event{Time: t0, Kind: executor.EventWait, Addr: "step.a", Message: "node c1: draining=true, 2 allocations left"})
	out := b.String()
	if !strings.Contains(out, "step.a: starting (nomad_node_drain)\n") {
		t.Errorf("no event line: %q", out)
	}
	if !strings.HasSuffix(out, "  ⠿ step.a 12s node c1: draining=true, 2 allocations left\n") {
		t.Errorf("footer: %q", out)
	}
	if strings.Contains(out, "waiting:") {
		t.Errorf("wait observations belong in the footer, not the scroll: %q", out)
	}
	b.Reset()
	v.Event(executor.Event{Time: now, Kind: executor.EventHeartbeat, Running: []executor.Running{{Addr: "step.a"}}})
	if got := b.String(); strings.Contains(got, "still") {
		t.Errorf("the footer shows what a heartbeat says: %q", got)
	}
	b.Reset()
	v.Event(executor.Event{Time: now, Kind: executor.EventFinished, Addr: "step.a", Elapsed: 12 * time.Second})
	if got := b.String(); got != "\r\x1b[1A\x1b[Jstep.a: finished (12s)\n" {
		t.Errorf("after finish: %q", got)
	}
}

func TestApplyTextHeartbeat(t *testing.T) {
	var b bytes.Buffer
	v := &ApplyText{W: &b}
	v.Event(executor.Event{Time: t0, Kind: executor.EventHeartbeat, Running: []executor.Running{
		{Addr: "step.a", Action: "exec", Elapsed: 40 * time.Second}, {Addr: "step.b", Wait: "http_ok: not ok", Elapsed: time.Minute}}})
	want := "2026-11-22T07:00:00.000Z still running: step.a exec (40s)\n2026-11-22T07:00:00.000Z still waiting: step.b http_ok: not ok (1m0s)\n"
	if got := b.String(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestApplyPause checks that while a question is open a view writes
// nothing (a progress footer is cleared first, and not redrawn), then
// prints what it held.
func TestApplyPause(t *testing.T) {
	start := executor.Event{Time: t0, Kind: executor.EventStart, Addr: "step.a", Action: "exec"}
	done := executor.Event{Time: t0, Kind: executor.EventFinished, Addr: "step.a"}
	beat := executor.Event{Time: t0, Kind: executor.EventHeartbeat, Running: []executor.Running{{Addr: "step.a"}}}
	tests := map[string]struct {
		view      func(*bytes.Buffer) ApplyView
		onPause   string // written by Pause
		onResume  string // written by the last Resume
		afterDone string // Close after the run
	}{
		"progress": {
			view:     func(b *bytes.Buffer) ApplyView { return &ApplyProgress{W: b, Now: func() time.Time { return t0 }} },
			onPause:  "\r\x1b[1A\x1b[J",
			onResume: "step.a: finished\n",
		},
		"text": {
			view:     func(b *bytes.Buffer) ApplyView { return &ApplyText{W: b} },
			onResume: "2026-11-22T07:00:00.000Z step.a: finished\n",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			v := tc.view(&b)
			v.Event(start)
			b.Reset()
			v.Pause()
			if got := b.String(); got != tc.onPause {
				t.Errorf("Pause wrote %q, want %q", got, tc.onPause)
			}
			b.Reset()
			v.Pause() // a nested question
			v.Event(beat)
			v.Event(done)
			if p, ok := v.(*ApplyProgress); ok {
				p.Tick()
			}
			v.Resume()
			if b.Len() > 0 {
				t.Errorf("written while paused: %q", b.String())
			}
			v.Resume()
			if got := b.String(); got != tc.onResume {
				t.Errorf("Resume wrote %q, want %q", got, tc.onResume)
			}
			b.Reset()
			v.Close()
			if b.Len() > 0 {
				t.Errorf("Close wrote %q with nothing running", b.String())
			}
		})
	}
}

func TestApplyProgressClose(t *testing.T) {
	var b bytes.Buffer
	v := &ApplyProgress{W: &b, Now: func() time.Time { return t0 }}
	v.Event(executor.Event{Time: t0, Kind: executor.EventStart, Addr: "step.a"})
	v.Event(executor.Event{Time: t0, Kind: executor.EventStart, Addr: "step.b"})
	v.Pause()
	v.Close() // Ctrl-C while a question is open
	b.Reset()
	v.Tick()
	v.Resume()
	v.Event(executor.Event{Time: t0, Kind: executor.EventInfo, Message: "late"})
	if got := b.String(); got != "late\n" {
		t.Errorf("after Close: %q, want only the event line", got)
	}
}

func TestApprovalQuestion(t *testing.T) {
	var b strings.Builder
	guards := []string{"step.a", "step.b", "step.c", "step.d", "step.e", "step.f", "step.g", "step.h", "step.i"}
	ApprovalQuestion(&b, "step.gate", "Proceed to drain production?", guards)
	want := "\nstep.gate asks for approval: Proceed to drain production?\n" +
		"  Waiting for it: step.a, step.b, step.c, step.d, step.e, step.f, step.g, step.h and 1 more\n" +
		"  Only 'yes' will be accepted: "
	if b.String() != want {
		t.Errorf("got  %q\nwant %q", b.String(), want)
	}
}

func TestRunStatus(t *testing.T) {
	st := journal.Replay([]journal.Record{
		{Kind: journal.KindRun, Time: t0, RunID: "r1", Runbook: "/rb/main.nrun.hcl", User: "ops", Host: "h", PID: 7, Instances: []string{"step.a", "step.b", "step.c"}},
		{Kind: journal.KindIntent, Addr: "step.a"}, {Kind: journal.KindActionDone, Addr: "step.a"}, {Kind: journal.KindFinished, Addr: "step.a"},
		{Kind: journal.KindIntent, Addr: "step.b"}, {Kind: journal.KindFailed, Addr: "step.b", Error: "exit 1"},
		{Kind: journal.KindEnd, Status: journal.StatusFailed},
	})
	var b bytes.Buffer
	RunStatus(&b, "r1", st, false)
	for _, want := range []string{"Run r1\n", "started:  2026-11-22T07:00:00Z by ops@h (pid 7)", "status:   failed", "1 finished", "1 failed", "finished     step.a", "failed       step.b: exit 1", "not started  step.c"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
}

func TestApplyReport(t *testing.T) {
	tests := map[string]struct {
		res  executor.Result
		want []string
	}{
		"finished": {res: executor.Result{RunID: "r1", Status: journal.StatusFinished, Finished: []string{"step.a"}},
			want: []string{"Run r1: finished. 1 finished, 0 failed, 0 skipped."}},
		"approval": {res: executor.Result{RunID: "r1", Status: journal.StatusPaused, Paused: []string{`step.x["a"]`}},
			want: []string{`nrun apply -resume -approve 'step.x["a"]' main.nrun.hcl`}},
		"in doubt": {res: executor.Result{RunID: "r1", Status: journal.StatusPaused, InDoubt: []string{"step.x"}},
			want: []string{"nrun apply -resume -assume-done step.x main.nrun.hcl", "nrun apply -resume -redo step.x main.nrun.hcl"}},
		"failed": {res: executor.Result{RunID: "r1", Status: journal.StatusFailed, Failed: []string{"step.b"}},
			want: []string{"  failed: step.b", "To continue this run:\n  nrun apply -resume main.nrun.hcl"}},
		"journal error": {res: executor.Result{RunID: "r1", Status: journal.StatusFailed, JournalErr: errors.New("no space left on device")},
			want: []string{"The journal could not be written, so nrun started nothing more: no space left on device"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var b strings.Builder
			ApplyReport(&b, &tc.res, "nrun apply -resume", "main.nrun.hcl")
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("missing %q in:\n%s", w, b.String())
				}
			}
		})
	}
}

// The outputs at the end of apply: the human section and the JSON event,
// sensitive values shown as <sensitive> and absent from the JSON.
func TestApplyOutputsGolden(t *testing.T) {
	outs := []executor.OutputValue{
		{Name: "leader", Description: "The leader after the upgrade.", Value: []byte(`"s2"`), Text: `"s2"`},
		{Name: "versions", Value: []byte(`{"s1":"1.9.3","s2":"1.9.3"}`), Text: `{s1 = "1.9.3", s2 = "1.9.3"}`},
		{Name: "password", Sensitive: true, Text: executor.SensitiveText},
		{Name: "banner", Error: "not known in this process: a step it refers to finished before a resume",
			Text: "(not known in this process: a step it refers to finished before a resume)"},
	}
	var b bytes.Buffer
	ApplyOutputs(&b, outs)
	checkGolden(t, "apply_outputs.golden", b.Bytes())

	b.Reset()
	j := ApplyStream{S: &Stream{W: &b}}
	j.Event(executor.Event{Time: t0, Kind: executor.EventOutputs, RunID: "r1", Outputs: outs})
	j.Event(executor.Event{Time: t0, Kind: executor.EventRunEnd, RunID: "r1", Status: "finished"})
	checkGolden(t, "apply_outputs.json.golden", b.Bytes())

	if EventLine(executor.Event{Kind: executor.EventOutputs, Outputs: outs}) != "" {
		t.Error("the event line of outputs must be empty: ApplyOutputs prints them")
	}
	b.Reset()
	ApplyOutputs(&b, nil)
	if b.Len() != 0 {
		t.Errorf("no outputs printed %q", b.String())
	}
}
