package journal

import (
	"testing"
	"time"
)

// TestReplayIntentAt: IntentAt is the last attempt's intent (a node wait
// after a restart needs a record newer than that attempt), Started the
// first's.
func TestReplayIntentAt(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	recs := []Record{
		{Kind: KindIntent, Addr: "step.a", Action: "exec", Attempt: 1, Time: t0},
		{Kind: KindFailed, Addr: "step.a", Error: "exit 1", Time: t0.Add(time.Second)},
		{Kind: KindIntent, Addr: "step.a", Action: "exec", Attempt: 2, Time: t0.Add(time.Minute)},
		{Kind: KindActionDone, Addr: "step.a", Time: t0.Add(2 * time.Minute)},
		{Kind: KindWaitDone, Addr: "step.a", Time: t0.Add(3 * time.Minute)},
	}
	in := Replay(recs).Instances["step.a"]
	if !in.Started.Equal(t0) || !in.IntentAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("Started %s, IntentAt %s; want %s and %s", in.Started, in.IntentAt, t0, t0.Add(time.Minute))
	}
	if in := Replay(recs[:0]).Instances["step.a"]; in != nil {
		t.Errorf("an instance without records: %+v", in)
	}
}
