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
	v.Event(executor.Event{Time: now, Kind: executor.EventFinished, Addr: "step.a", Elapsed: 12 * time.Second})
	if got := b.String(); got != "\x1b[1A\x1b[2Kstep.a: finished (12s)\n" {
		t.Errorf("after finish: %q", got)
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
