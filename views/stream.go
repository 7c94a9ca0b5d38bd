package views

import (
	"encoding/json"
	"errors"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/planner"
)

// StreamVersion is the version of the machine-readable stream of
// `nrun plan -json` and `nrun apply -json` (docs/json-stream.md), carried as "ui" in the first
// message. Compatibility rule: the minor part grows when a message type or a
// field is added, and readers must ignore types and fields they do not know;
// the major part changes only when a field is removed or changes meaning.
// `nrun plan -json` writes the same stream.
const StreamVersion = "1.0"

// StreamMessage is one line of the stream, modelled on `terraform apply
// -json`: four common fields, a type, and the object that type carries.
type StreamMessage struct {
	Level     string `json:"@level"`
	Message   string `json:"@message"`
	Module    string `json:"@module"`
	Timestamp string `json:"@timestamp"`
	Type      string `json:"type"`

	// version
	Nrun string `json:"nrun,omitempty"`
	UI   string `json:"ui,omitempty"`

	Run        *StreamRun      `json:"run,omitempty"`
	Instance   *StreamInstance `json:"instance,omitempty"`
	Diagnostic *JSONDiagnostic `json:"diagnostic,omitempty"`
	Summary    *StreamSummary  `json:"summary,omitempty"`
	// Outputs are the runbook's output values (type outputs), sensitive
	// ones without a value.
	Outputs []executor.OutputValue `json:"outputs,omitempty"`
	// Running are the instances in progress (type heartbeat).
	Running []StreamRunning `json:"running,omitempty"`
	// Plan is the whole plan document of docs/plan-json.md (type plan).
	Plan json.RawMessage `json:"plan,omitempty"`
	// Changes is the plan's summary (type change_summary).
	Changes *planner.Summary `json:"changes,omitempty"`
}

// StreamRun identifies the run on run_start and run_end messages.
type StreamRun struct {
	ID     string `json:"id"`
	Status string `json:"status,omitempty"`
}

// StreamInstance is the step instance a message is about, with what the
// event adds: the action, the check, the attempt, a message, how long it
// took.
type StreamInstance struct {
	Addr           string  `json:"addr"`
	Action         string  `json:"action,omitempty"`
	Attempt        int     `json:"attempt,omitempty"`
	Check          string  `json:"check,omitempty"`
	OK             *bool   `json:"ok,omitempty"`
	Message        string  `json:"message,omitempty"`
	ElapsedSeconds float64 `json:"elapsed_seconds,omitempty"`
}

// StreamRunning is one instance in progress in a heartbeat: its action,
// what its wait last observed ("" when not waiting), and for how long it
// has run.
type StreamRunning struct {
	Addr           string  `json:"addr"`
	Action         string  `json:"action,omitempty"`
	Wait           string  `json:"wait,omitempty"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
}

// StreamSummary ends an apply: how the run ended and its counts.
type StreamSummary struct {
	RunID    string `json:"run_id,omitempty"`
	Status   string `json:"status"`
	Finished int    `json:"finished"`
	Failed   int    `json:"failed"`
	Skipped  int    `json:"skipped"`
	Paused   int    `json:"paused"`
	InDoubt  int    `json:"in_doubt"`
	ExitCode int    `json:"exit_code"`
}

// streamTypes maps each executor event to its stream type and level. An
// event kind missing here is still written, with its own name as the type
// (readers ignore types they do not know), so no event is ever dropped.
var streamTypes = map[executor.EventKind]struct{ typ, level string }{
	executor.EventRunStart:     {"run_start", "info"},
	executor.EventStart:        {"instance_start", "info"},
	executor.EventPrecondition: {"precondition", "info"},
	executor.EventAction:       {"action_start", "info"},
	executor.EventActionDone:   {"action_complete", "info"},
	executor.EventOutput:       {"output", "info"},
	executor.EventWait:         {"wait_progress", "info"},
	executor.EventWaitDone:     {"wait_complete", "info"},
	executor.EventFinished:     {"instance_complete", "info"},
	executor.EventFailed:       {"instance_errored", "error"},
	executor.EventSkipped:      {"instance_skipped", "warn"},
	executor.EventPaused:       {"instance_paused", "warn"},
	executor.EventProbe:        {"probe", "info"},
	executor.EventInfo:         {"info", "info"},
	executor.EventOutputs:      {"outputs", "info"},
	executor.EventHeartbeat:    {"heartbeat", "info"},
	executor.EventRunEnd:       {"run_end", "info"},
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

// VersionMessage is the first message of every stream.
func VersionMessage(nrunVersion string, now time.Time) StreamMessage {
	return StreamMessage{Level: "info", Message: "nrun " + nrunVersion, Module: "nrun.ui", Timestamp: stamp(now),
		Type: "version", Nrun: nrunVersion, UI: StreamVersion}
}

// EventMessage renders one executor event as a stream message. @message is
// the same text the plain view prints.
func EventMessage(e executor.Event) StreamMessage {
	t, ok := streamTypes[e.Kind]
	if !ok {
		t.typ, t.level = string(e.Kind), "info"
	}
	m := StreamMessage{Level: t.level, Message: EventLine(e), Module: "nrun.ui", Timestamp: stamp(e.Time), Type: t.typ}
	if m.Message == "" {
		m.Message = e.Message
	}
	switch {
	case e.Kind == executor.EventOutputs:
		m.Outputs = e.Outputs
		if m.Message == "" {
			m.Message = "Outputs: " + itoa(len(e.Outputs))
		}
	case e.Kind == executor.EventHeartbeat:
		for _, r := range e.Running {
			m.Running = append(m.Running, StreamRunning{Addr: r.Addr, Action: r.Action, Wait: r.Wait, ElapsedSeconds: r.Elapsed.Seconds()})
		}
	case e.Kind == executor.EventRunStart || e.Kind == executor.EventRunEnd:
		m.Run = &StreamRun{ID: e.RunID, Status: e.Status}
	case e.Addr != "":
		in := &StreamInstance{Addr: e.Addr, Action: e.Action, Attempt: e.Attempt, Check: e.Check, Message: e.Message,
			ElapsedSeconds: e.Elapsed.Seconds()}
		if e.Kind == executor.EventPrecondition {
			ok := e.OK
			in.OK = &ok
			if !ok {
				m.Level = "warn"
			}
		}
		m.Instance = in
	}
	return m
}

// DiagnosticMessages renders diagnostics as stream messages, one each, with
// snippets from files.
func DiagnosticMessages(diags hcl.Diagnostics, files map[string]*hcl.File, now time.Time) []StreamMessage {
	rep := NewJSONReport(diags, files)
	out := make([]StreamMessage, 0, len(rep.Diagnostics))
	for i := range rep.Diagnostics {
		d := rep.Diagnostics[i]
		level := d.Severity
		if level == "warning" {
			level = "warn"
		}
		msg := d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
		out = append(out, StreamMessage{Level: level, Message: msg, Module: "nrun.ui", Timestamp: stamp(now), Type: "diagnostic", Diagnostic: &d})
	}
	return out
}

// SummaryMessage ends the stream of an apply; exitCode is the code the
// command exits with (the command decides it).
func SummaryMessage(res *executor.Result, exitCode int, now time.Time) StreamMessage {
	s := &StreamSummary{RunID: res.RunID, Status: res.Status, Finished: len(res.Finished), Failed: len(res.Failed),
		Skipped: len(res.Skipped), Paused: len(res.Paused), InDoubt: len(res.InDoubt), ExitCode: exitCode}
	level := "info"
	if s.ExitCode != 0 {
		level = "error"
	}
	return StreamMessage{Level: level, Message: "Apply " + res.Status + ": " + itoa(s.Finished) + " finished, " + itoa(s.Failed) + " failed, " + itoa(s.Skipped) + " skipped.",
		Module: "nrun.ui", Timestamp: stamp(now), Type: "apply_summary", Summary: s}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Stream writes stream messages, one JSON object per line. It is the only
// part of the stream with state: a lock so lines never interleave, and
// whether its writer is gone. A reader that went away (EPIPE: `nrun apply
// -json | head`) must never stop a run, so writes after that are dropped.
type Stream struct {
	W      io.Writer
	mu     sync.Mutex
	closed bool
}

// Write writes each message as one line.
func (s *Stream) Write(ms ...StreamMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range ms {
		if s.closed {
			return
		}
		b, err := json.Marshal(m)
		if err != nil {
			continue
		}
		if _, err := s.W.Write(append(b, '\n')); err != nil && errors.Is(err, syscall.EPIPE) {
			s.closed = true
		}
	}
}

// ApplyStream is the ApplyView of `nrun apply -json`.
type ApplyStream struct{ S *Stream }

// Event implements ApplyView.
func (v ApplyStream) Event(e executor.Event) { v.S.Write(EventMessage(e)) }

// Pause implements ApplyView. The stream goes to a program, not to the
// terminal a question is asked on, so nothing is held.
func (v ApplyStream) Pause() {}

// Resume implements ApplyView.
func (v ApplyStream) Resume() {}

// Close implements ApplyView.
func (v ApplyStream) Close() {}

// PlanMessages are the messages of a plan: the whole plan document, then
// the change summary that a pipeline reads to decide whether there is work.
func PlanMessages(p *planner.Plan, now time.Time) ([]StreamMessage, error) {
	doc, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	sum := p.Summary
	return []StreamMessage{
		{Level: "info", Message: "Plan of " + p.Runbook.Name, Module: "nrun.ui", Timestamp: stamp(now), Type: "plan", Plan: doc},
		{Level: "info", Message: SummaryLine(p), Module: "nrun.ui", Timestamp: stamp(now), Type: "change_summary", Changes: &sum},
	}, nil
}
