package journal

import (
	"fmt"
	"time"
)

// Phase is how far an instance got, as the journal tells it.
type Phase int

// Phases, in the order an instance goes through them.
const (
	PhaseNone       Phase = iota // nothing recorded: not started
	PhaseIntent                  // the action may or may not have run: in doubt
	PhaseActionDone              // the action completed; waits remain
	PhaseFinished                // done
	PhaseFailed                  // failed; resume runs it again
	PhaseSkipped                 // a dependency failed under on_failure = continue
	PhasePaused                  // waits for the operator
)

func (p Phase) String() string {
	switch p {
	case PhaseIntent:
		return "in doubt"
	case PhaseActionDone:
		return "action done"
	case PhaseFinished:
		return "finished"
	case PhaseFailed:
		return "failed"
	case PhaseSkipped:
		return "skipped"
	case PhasePaused:
		return "paused"
	}
	return "not started"
}

// Instance is the replayed state of one instance.
type Instance struct {
	Addr      string
	Phase     Phase
	Action    string
	Attempt   int
	WaitsDone int // how many of the step's waits held, in order
	Error     string
	Detail    string
	Approved  bool
	// Decision is the operator's "assume-done" or "redo" for an in-doubt
	// instance, "" when none.
	Decision string
	Started  time.Time
	Updated  time.Time
	// ExecPID and ExecHost name the process group of the last exec
	// command started for this instance, so resume can wait for one that
	// outlived a crashed nrun.
	ExecPID  int
	ExecHost string
}

// State is a journal replayed.
type State struct {
	Header    Record   // the run record
	Resumes   []Record // later processes
	End       *Record  // the last end record, nil if the last process did not end cleanly
	Instances map[string]*Instance
	// Order lists addresses as they first appeared.
	Order []string
}

// Replay folds records into a State.
func Replay(recs []Record) *State {
	st := &State{Instances: map[string]*Instance{}}
	get := func(addr string) *Instance {
		in, ok := st.Instances[addr]
		if !ok {
			in = &Instance{Addr: addr}
			st.Instances[addr] = in
			st.Order = append(st.Order, addr)
		}
		return in
	}
	for _, r := range recs {
		switch r.Kind {
		case KindRun:
			st.Header = r
			st.End = nil
			continue
		case KindResume:
			st.Resumes = append(st.Resumes, r)
			st.End = nil
			continue
		case KindEnd:
			rc := r
			st.End = &rc
			continue
		}
		if r.Addr == "" {
			continue
		}
		in := get(r.Addr)
		in.Updated = r.Time
		switch r.Kind {
		case KindIntent:
			in.Phase, in.Action, in.Attempt, in.Error = PhaseIntent, r.Action, r.Attempt, ""
			in.WaitsDone, in.Decision = 0, ""
			if in.Started.IsZero() {
				in.Started = r.Time
			}
		case KindActionDone:
			in.Phase, in.WaitsDone, in.Detail = PhaseActionDone, 0, r.Detail
		case KindWaitDone:
			if r.WaitIndex+1 > in.WaitsDone {
				in.WaitsDone = r.WaitIndex + 1
			}
		case KindFinished:
			in.Phase, in.Error = PhaseFinished, ""
		case KindFailed:
			in.Phase, in.Error = PhaseFailed, r.Error
		case KindSkipped:
			in.Phase, in.Error = PhaseSkipped, r.Error
		case KindPaused:
			// Action says what waits: "approval", the in-doubt action's
			// type, or "" for on_failure = pause (the instance starts over).
			if in.Phase != PhaseFinished {
				in.Phase, in.Detail, in.Action = PhasePaused, r.Detail, r.Action
			}
		case KindApproved:
			in.Approved = true
		case KindExecStart:
			in.ExecPID, in.ExecHost = r.PID, r.Host
		case KindDecision:
			in.Decision = r.Status
		}
	}
	return st
}

// Unfinished reports whether the run still has work: it never ended with
// StatusFinished, or an instance the run header lists is not done
// (finished, failed or skipped under on_failure = continue) whatever the
// end record says. A damaged or hand-edited journal cannot make a run
// look finished that did not do its work.
func (st *State) Unfinished() bool {
	if st.End == nil || st.End.Status != StatusFinished {
		return true
	}
	return len(st.NotDone()) > 0
}

// NotDone lists the instances of the last process's plan (the run
// header's, or the last resume's) that are neither finished, failed nor
// skipped.
func (st *State) NotDone() []string {
	var out []string
	list := st.Header.Instances
	if n := len(st.Resumes); n > 0 {
		list = st.Resumes[n-1].Instances
	}
	for _, a := range list {
		in := st.Instances[a]
		if in == nil {
			out = append(out, a)
			continue
		}
		switch in.Phase {
		case PhaseFinished, PhaseFailed, PhaseSkipped:
		default:
			out = append(out, a)
		}
	}
	return out
}

// Check refuses a journal the executor cannot have written: the first
// record must be the run header, there is only one, and seq increases from
// record to record (a write that failed may leave a gap, never a step back).
func Check(recs []Record) error {
	for i, r := range recs {
		switch {
		case i == 0 && r.Kind != KindRun:
			return fmt.Errorf("the journal does not start with a run record (the first is %q); it is not a journal nrun wrote", r.Kind)
		case i > 0 && r.Kind == KindRun:
			return fmt.Errorf("record %d (seq %d) is a second run header; the journal holds more than one run and cannot be trusted", i+1, r.Seq)
		case i > 0 && r.Seq <= recs[i-1].Seq:
			return fmt.Errorf("record %d has seq %d after seq %d; records are out of order, so the journal cannot be trusted", i+1, r.Seq, recs[i-1].Seq)
		}
	}
	return nil
}
