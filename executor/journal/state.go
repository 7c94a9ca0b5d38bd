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
	// IntentAt is the time of the last intent record: when the action's
	// last attempt began (node waits after a restart need a record newer).
	IntentAt time.Time
	// ExecPID and ExecHost name the process group of the last exec
	// command started for this instance, so resume can wait for one that
	// outlived a crashed nrun.
	ExecPID  int
	ExecHost string
}

// State is a journal replayed.
type State struct {
	Header  Record   // the run record
	Resumes []Record // later processes
	End     *Record  // the last end record, nil if the last process did not end cleanly
	// Abandoned is the record of the operator who gave the run up, nil
	// if none; an abandoned run no longer blocks new runs.
	Abandoned *Record
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
		case KindAbandoned:
			rc := r
			st.Abandoned = &rc
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
			in.IntentAt = r.Time
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

// Check refuses a history the executor cannot have written, so a journal
// that was edited or pieced together (each line valid, chain intact only
// if rewritten with it) is not acted on. It checks only what the executor
// never violates:
//   - the first record is the run header, in FormatVersion, with a run ID;
//     there is one header; seq is 1, 2, 3, ...;
//   - a resume names the header's run;
//   - every instance record has an address from the instance list of the
//     header or resume that precedes it (the plan that process ran);
//   - action_done, wait_done, finished, exec_start, approved and decision
//     follow an intent of the same instance (nothing happens to an action
//     that was never started);
//   - after an end record only a resume may follow, and nothing follows
//     an abandoned record.
func Check(recs []Record) error {
	var (
		runID  string
		plan   map[string]bool
		intent = map[string]bool{}
		ended  bool
		gaveUp bool
	)
	bad := func(i int, format string, args ...any) error {
		return &DamageError{Why: fmt.Sprintf("record %d (seq %d, %s) ", i+1, recs[i].Seq, recs[i].Kind) + fmt.Sprintf(format, args...)}
	}
	for i, r := range recs {
		switch {
		case i == 0 && r.Kind != KindRun:
			return &DamageError{Why: fmt.Sprintf("the journal does not start with a run record (the first is %q); it is not a journal nrun wrote", r.Kind)}
		case i == 0 && r.Format != FormatVersion:
			return &FormatError{Found: r.Format}
		case i == 0 && r.RunID == "":
			return bad(i, "names no run")
		case i > 0 && r.Kind == KindRun:
			return bad(i, "is a second run header; the journal holds more than one run")
		case r.Seq != uint64(i+1):
			return bad(i, "is out of sequence (seq %d where %d was due); a record is missing, repeated or out of order", r.Seq, i+1)
		case gaveUp:
			return bad(i, "follows the record that abandoned the run; nothing is written after that")
		case ended && r.Kind != KindResume && r.Kind != KindAbandoned:
			return bad(i, "follows the end record of a process; only a resume can")
		}
		switch r.Kind {
		case KindRun, KindResume:
			if r.Kind == KindRun {
				runID = r.RunID
			} else if r.RunID != runID {
				return bad(i, "resumes run %q in the journal of run %q", r.RunID, runID)
			}
			plan = map[string]bool{}
			for _, a := range r.Instances {
				plan[a] = true
			}
			ended = false
			continue
		case KindEnd:
			switch r.Status {
			case StatusFinished, StatusFailed, StatusPaused, StatusInterrupted:
			default:
				return bad(i, "has the unknown status %q", r.Status)
			}
			ended = true
			continue
		case KindAbandoned:
			gaveUp = true
			continue
		case KindIntent, KindActionDone, KindWaitDone, KindFinished, KindFailed, KindSkipped,
			KindPaused, KindApproved, KindDecision, KindProbe, KindExecStart:
		default:
			return bad(i, "is of a kind nrun does not write")
		}
		if !plan[r.Addr] {
			return bad(i, "is about %q, which is not an instance of the plan its process ran", r.Addr)
		}
		switch r.Kind {
		case KindIntent:
			intent[r.Addr] = true
		case KindActionDone, KindWaitDone, KindFinished, KindExecStart, KindApproved, KindDecision:
			if !intent[r.Addr] {
				return bad(i, "records %s for %s, whose action was never started (no intent before it)", r.Kind, r.Addr)
			}
		}
	}
	return nil
}

// FormatError is a journal in a format this nrun does not read.
type FormatError struct{ Found int }

func (e *FormatError) Error() string {
	if e.Found == 0 {
		return fmt.Sprintf("the journal has no format version: an nrun older than journal format %d wrote it, and this nrun reads such a journal only to show a run that finished; resume the run with the nrun that started it, or abandon it", FormatVersion)
	}
	return fmt.Sprintf("the journal is in format %d, and this nrun reads format %d; use the nrun that wrote it", e.Found, FormatVersion)
}
