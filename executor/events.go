package executor

import "time"

// EventKind says what happened.
type EventKind string

// Event kinds, in roughly the order a run emits them.
const (
	EventRunStart     EventKind = "run_start"
	EventStart        EventKind = "start"        // an instance starts
	EventPrecondition EventKind = "precondition" // one precondition evaluated
	EventAction       EventKind = "action"       // the action starts (Attempt)
	EventActionDone   EventKind = "action_done"
	EventOutput       EventKind = "output" // a line of command output (also in the audit log)
	EventWait         EventKind = "wait"   // a wait observed something (Message)
	EventWaitDone     EventKind = "wait_done"
	EventFinished     EventKind = "finished"
	EventFailed       EventKind = "failed"
	EventSkipped      EventKind = "skipped"
	EventPaused       EventKind = "paused"
	EventProbe        EventKind = "probe" // resume re-checked an in-doubt action
	EventInfo         EventKind = "info"
	EventOutputs      EventKind = "outputs"   // the output blocks' values, when the run finished (Outputs)
	EventHeartbeat    EventKind = "heartbeat" // what is running (Running), on a timer (Config.Heartbeat)
	EventRunEnd       EventKind = "run_end"
)

// Event is one thing that happened during a run, for views to print. It is
// already redacted.
type Event struct {
	Time    time.Time `json:"time"`
	Kind    EventKind `json:"kind"`
	RunID   string    `json:"run_id,omitempty"`
	Addr    string    `json:"addr,omitempty"`
	Action  string    `json:"action,omitempty"`
	Attempt int       `json:"attempt,omitempty"`
	Check   string    `json:"check,omitempty"`
	OK      bool      `json:"ok,omitempty"`
	Message string    `json:"message,omitempty"`
	// Elapsed is how long the instance (or wait) has been running.
	Elapsed time.Duration `json:"elapsed_ns,omitempty"`
	// Status is the run status on run_end.
	Status string `json:"status,omitempty"`
	// Outputs are the output values on outputs, sensitive ones without
	// their value.
	Outputs []OutputValue `json:"outputs,omitempty"`
	// Running are the instances in progress, on heartbeat, by address.
	Running []Running `json:"running,omitempty"`
	// AllocsLeft is, on a drain's wait observation, how many allocations
	// are still on the node (nil on every other event), so a view can sum
	// what is still to move.
	AllocsLeft *int `json:"allocs_left,omitempty"`
}

// Running is one instance in progress, as a heartbeat reports it.
type Running struct {
	Addr   string `json:"addr"`
	Action string `json:"action,omitempty"`
	// Wait is the last observation of the instance's current wait, ""
	// while it is not waiting.
	Wait string `json:"wait,omitempty"`
	// Elapsed is how long the instance has been running.
	Elapsed time.Duration `json:"elapsed_ns"`
}
