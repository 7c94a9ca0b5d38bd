package executor

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/nrun-dev/nrun/executor/journal"
)

// fakeMirror records what it was given; failOn makes it fail (a check-and-
// set conflict, a store gone) at an exact record.
type fakeMirror struct {
	mu     sync.Mutex
	recs   []journal.Record
	failOn func(journal.Record) error
	err    error
}

func (m *fakeMirror) Mirrored() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.recs) == 0 {
		return 0
	}
	return m.recs[len(m.recs)-1].Seq
}

func (m *fakeMirror) Append(recs []journal.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	for _, r := range recs {
		if m.failOn != nil {
			if err := m.failOn(r); err != nil {
				m.err = err
				return err
			}
		}
		m.recs = append(m.recs, r)
	}
	return nil
}

func (m *fakeMirror) has(kind journal.Kind, addr string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.recs {
		if r.Kind == kind && r.Addr == addr {
			return true
		}
	}
	return false
}

type fakeGuard struct {
	mu  sync.Mutex
	err error
	run string
}

func (g *fakeGuard) Verify() error             { g.mu.Lock(); defer g.mu.Unlock(); return g.err }
func (g *fakeGuard) SetRun(runID string) error { g.run = runID; return nil }

const threeSteps = `
step "s1" {
  action "sleep" {
    duration = "0s"
  }
}
step "s2" {
  depends_on = [step.s1]
  action "sleep" {
    duration = "0s"
  }
}
step "s3" {
  depends_on = [step.s2]
  action "sleep" {
    duration = "0s"
  }
}
`

// Every action starts only once the mirror holds its intent, and the
// mirror ends with every record of the journal.
func TestMirrorBeforeAction(t *testing.T) {
	dir := t.TempDir()
	rb, inputs, p := planFor(t, dir, threeSteps)
	m := &fakeMirror{}
	cfg := testConfig(t, dir, rb, inputs, p, nil)
	var late []string
	cfg.Events = func(e Event) {
		if e.Kind == EventAction && !m.has(journal.KindIntent, e.Addr) {
			late = append(late, e.Addr)
		}
	}
	cfg.OpenMirror = func(runID string, recs []journal.Record) (Mirror, error) { return m, nil }
	g := &fakeGuard{}
	cfg.Guard = g
	res, err := Run(context.Background(), cfg)
	if err != nil || res.Status != journal.StatusFinished || res.Stopped != nil {
		t.Fatalf("%v %+v", err, res)
	}
	if len(late) > 0 {
		t.Errorf("actions started before the mirror held their intent: %v", late)
	}
	recs, err := journal.Read(res.RunDir + "/" + journal.FileName)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.recs) != len(recs) {
		t.Errorf("the mirror holds %d records, the journal %d", len(m.recs), len(recs))
	}
	if g.run != res.RunID {
		t.Errorf("the guard was given run %q, want %q", g.run, res.RunID)
	}
}

// A mirror that fails (another writer, a store gone past its bound) or a
// guard that no longer holds stops the run: nothing more starts, and
// Result.Stopped says why.
func TestMirrorOrGuardFailureStops(t *testing.T) {
	errOther := errors.New("another writer")
	tests := map[string]struct {
		mirrorFail func(journal.Record) error
		guardAfter string // the guard fails once this instance finished
	}{
		"mirror": {mirrorFail: func(r journal.Record) error {
			if r.Kind == journal.KindIntent && r.Addr == "step.s2" {
				return errOther
			}
			return nil
		}},
		"guard": {guardAfter: "step.s1"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			rb, inputs, p := planFor(t, dir, threeSteps)
			m := &fakeMirror{failOn: tc.mirrorFail}
			g := &fakeGuard{}
			cfg := testConfig(t, dir, rb, inputs, p, nil)
			var actions []string
			cfg.Events = func(e Event) {
				switch {
				case e.Kind == EventAction:
					actions = append(actions, e.Addr)
				case e.Kind == EventFinished && e.Addr == tc.guardAfter:
					g.mu.Lock()
					g.err = errOther
					g.mu.Unlock()
				}
			}
			cfg.OpenMirror = func(runID string, recs []journal.Record) (Mirror, error) { return m, nil }
			cfg.Guard = g
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !errors.Is(res.Stopped, errOther) {
				t.Errorf("Stopped = %v, want %v", res.Stopped, errOther)
			}
			if len(actions) != 1 || actions[0] != "step.s1" {
				t.Errorf("actions %v, want step.s1 only", actions)
			}
			if res.Status == journal.StatusFinished {
				t.Errorf("status %s", res.Status)
			}
		})
	}
}
