package backend

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor/journal"
)

// Abandoning runs in the store: a readable copy gets an abandoned record
// (its chain still verifies) and the marker; a damaged copy is left as it
// is and gets the marker with the reason; either then reads back as
// abandoned, once only, and only under the holder's lock.
func TestAbandon(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			be := open(t, kind, nil)
			b := be.(*remote)
			recs := localJournal(t, 5, 10)
			for _, id := range []string{"r1", "r2"} {
				m, err := be.Mirror(ctx, id, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Append(recs); err != nil {
					t.Fatal(err)
				}
			}
			// Damage r2's copy.
			key := b.chunkPrefix("r2") + chunkName(1)
			v, ix, err := b.s.get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.s.put(ctx, key, bytes.Replace(v, []byte("xxx"), []byte("xyx"), 1), ix, nil); err != nil {
				t.Fatal(err)
			}

			other, err := be.Lock(ctx, "other", LockOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// Without the lock (another holder has it) nothing is taken.
			var le *LockedError
			if _, err := be.Lock(ctx, "abandon", LockOptions{}); !errors.As(err, &le) || le.Holder == nil || le.Holder.ID != other.Holder().ID {
				t.Fatalf("lock held by another: got %v, want a LockedError naming %s", err, other.Holder().ID)
			}
			other.Release()
			l, err := be.Lock(ctx, "abandon", LockOptions{Timeout: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Release()
			if _, err := be.Abandon(ctx, "r9", l); err == nil || !strings.Contains(err.Error(), "no run r9") {
				t.Errorf("abandon of a run that does not exist: %v", err)
			}
			a1, err := be.Abandon(ctx, "r1", l)
			if err != nil {
				t.Fatal(err)
			}
			a2, err := be.Abandon(ctx, "r2", l)
			if err != nil {
				t.Fatal(err)
			}
			if a1.Reason != "" || a2.Reason == "" || !strings.Contains(a1.By, "@") {
				t.Errorf("abandonments: %+v %+v", a1, a2)
			}
			if _, err := be.Abandon(ctx, "r1", l); err == nil || !strings.Contains(err.Error(), "already abandoned") {
				t.Errorf("second abandon: %v", err)
			}
			runs, err := be.Runs(ctx)
			if err != nil || len(runs) != 2 {
				t.Fatalf("runs: %+v %v", runs, err)
			}
			r1, r2 := runs[0], runs[1]
			if r1.Err != nil || r1.Abandoned == nil || r1.State.Abandoned == nil || len(r1.Records) != len(recs)+1 {
				t.Errorf("r1 after abandon: err %v, abandoned %+v, %d records", r1.Err, r1.Abandoned, len(r1.Records))
			}
			if r1.Abandoned != nil && r1.Abandoned.By != a1.By {
				t.Errorf("r1 abandoned by %q, want %q", r1.Abandoned.By, a1.By)
			}
			if r2.Err == nil || r2.Abandoned == nil || r2.Abandoned.Reason != a2.Reason {
				t.Errorf("r2 after abandon: err %v, abandoned %+v", r2.Err, r2.Abandoned)
			}
			var dmg *journal.DamageError
			if _, err := be.Fetch(ctx, "r2"); !errors.As(err, &dmg) {
				t.Errorf("the damaged copy was changed: %v", err)
			}
			// A lock that no longer holds writes nothing.
			l.Release()
			m, err := be.Mirror(ctx, "r3", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Append(recs); err != nil {
				t.Fatal(err)
			}
			if _, err := be.Abandon(ctx, "r3", l); err == nil {
				t.Error("abandon under a released lock succeeded")
			}
			if a, err := b.readAbandonment(ctx, "r3"); err != nil || a != nil {
				t.Errorf("r3 after a refused abandon: %+v %v", a, err)
			}
		})
	}
}
