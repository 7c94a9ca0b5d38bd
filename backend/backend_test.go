package backend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

func TestMain(m *testing.M) { os.Exit(sandboxtest.Main(m)) }

var kinds = []Kind{Nomad, Consul}

// open returns a backend of kind on the package's sandbox (a Nomad
// server and a Consul server) under a path of its own.
func open(t testing.TB, kind Kind, mod func(*Config)) Backend {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sb := sandboxtest.Shared(t, "backend", sandbox.Spec{Servers: []sandbox.ServerSpec{{Name: "bt1"}}, ConsulServers: 1})
	env := map[string]string{}
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	name := strings.NewReplacer("/", "-", "#", "-").Replace(t.Name())
	cfg := Config{Kind: kind, Path: "nrun-test/" + name + fmt.Sprintf("-%d", time.Now().UnixNano()), Getenv: func(k string) string { return env[k] },
		LockTTL: 10 * time.Second, LockDelay: time.Second, WriteWait: 30 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	be, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The store may still be electing or initialising its keyring: the
	// first lock waits for it.
	l, err := be.Lock(context.Background(), "test", LockOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	l.Release()
	return be
}

// localJournal writes n records (with detail bytes of text each) to a
// journal in a temporary directory and returns them.
func localJournal(t testing.TB, n, detail int) []journal.Record {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), journal.FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if err := j.Append(journal.Record{Kind: journal.KindRun, RunID: "r1", Runbook: "rb", Instances: []string{"step.a"}}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if err := j.Append(journal.Record{Kind: journal.KindProbe, Addr: "step.a", Detail: strings.Repeat("x", detail) + fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	return j.Records()
}

func encode(t testing.TB, recs []journal.Record) []byte {
	var b []byte
	for _, r := range recs {
		line, err := journal.Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		b = append(b, line...)
	}
	return b
}

// The copy is the journal byte for byte, in as many chunks as its size
// needs (here over Nomad's 64 KiB variable limit and several of the
// test's small chunks), whether written at once or record by record.
func TestMirrorChunks(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			be := open(t, kind, nil)
			l, err := be.Lock(ctx, "apply", LockOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Release()
			recs := localJournal(t, 60, 3000) // about 190 KB
			m, err := be.Mirror(ctx, "r1", nil, l)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Append(recs[:10]); err != nil {
				t.Fatal(err)
			}
			for i := 10; i < len(recs); i++ {
				if err := m.Append(recs[:i+1]); err != nil {
					t.Fatal(err)
				}
			}
			got, err := be.Fetch(ctx, "r1")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, encode(t, recs)) {
				t.Fatalf("the copy (%d bytes) differs from the journal (%d bytes)", len(got), len(encode(t, recs)))
			}
			cs, _, err := be.(*remote).chunks(ctx, "r1")
			if err != nil {
				t.Fatal(err)
			}
			if want := (len(got) + be.(*remote).s.chunkSize() - 1) / be.(*remote).s.chunkSize(); len(cs) != want {
				t.Errorf("%d chunks, want %d", len(cs), want)
			}
			// Reopened with the same records, the mirror has nothing to
			// write; with fewer, the copy is ahead.
			m2, err := be.Mirror(ctx, "r1", recs, l)
			if err != nil || m2.Mirrored() != uint64(len(recs)) || m2.Ahead() != nil {
				t.Fatalf("reopen: %v, mirrored %d", err, m2.Mirrored())
			}
			if m3, err := be.Mirror(ctx, "r1", recs[:5], l); err != nil || m3.Ahead() == nil {
				t.Fatalf("a shorter local journal: err %v, want the copy ahead", err)
			}
			runs, err := be.Runs(ctx)
			if err != nil || len(runs) != 1 || runs[0].Err != nil || len(runs[0].Records) != len(recs) {
				t.Fatalf("runs = %+v, %v", runs, err)
			}
		})
	}
}

// A copy that does not prove its integrity is refused, never skipped: an
// altered chunk, a missing chunk, a cut tail.
func TestMirrorDamageRefused(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			be := open(t, kind, func(c *Config) { c.ChunkSize = 2000 })
			b := be.(*remote)
			recs := localJournal(t, 20, 300)
			m, err := be.Mirror(ctx, "r1", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Append(recs); err != nil {
				t.Fatal(err)
			}
			if _, err := be.Fetch(ctx, "r1"); err != nil {
				t.Fatal(err)
			}
			key := func(n int) string { return b.chunkPrefix("r1") + chunkName(n) }
			orig, ix, err := b.s.get(ctx, key(2))
			if err != nil {
				t.Fatal(err)
			}
			altered := bytes.Replace(orig, []byte("xxx"), []byte("xyx"), 1)
			if _, err := b.s.put(ctx, key(2), altered, ix, nil); err != nil {
				t.Fatal(err)
			}
			var dmg *journal.DamageError
			if _, err := be.Fetch(ctx, "r1"); !errors.As(err, &dmg) {
				t.Errorf("an altered chunk: got %v, want a damage error", err)
			}
			runs, err := be.Runs(ctx)
			if err != nil || len(runs) != 1 || runs[0].Err == nil {
				t.Errorf("runs list a damaged copy as sound: %+v %v", runs, err)
			}
			// Missing chunk 2 (3 and later remain).
			if err := b.s.del(ctx, key(2)); err != nil {
				t.Fatal(err)
			}
			if _, err := be.Fetch(ctx, "r1"); !errors.As(err, &dmg) {
				t.Errorf("a missing chunk: got %v, want a damage error", err)
			}
			// A tail cut mid-line.
			last := len(encode(t, recs))/2000 + 1
			v, ix, err := b.s.get(ctx, key(last))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.s.put(ctx, key(2), orig, 0, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := b.s.put(ctx, key(last), v[:len(v)-3], ix, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := be.Fetch(ctx, "r1"); !errors.As(err, &dmg) {
				t.Errorf("a cut tail: got %v, want a damage error", err)
			}
		})
	}
}

// A second writer of the same run (its check-and-set finds the first's
// write) stops the first.
func TestMirrorConflict(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			be := open(t, kind, nil)
			recs := localJournal(t, 6, 10)
			m1, err := be.Mirror(ctx, "r1", nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := m1.Append(recs[:3]); err != nil {
				t.Fatal(err)
			}
			m2, err := be.Mirror(ctx, "r1", recs[:3], nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := m2.Append(recs[:4]); err != nil {
				t.Fatal(err)
			}
			err = m1.Append(recs[:5])
			var ce *ConflictError
			if !errors.As(err, &ce) || !Stopping(err) {
				t.Fatalf("the first writer after a second wrote: %v, want a conflict", err)
			}
			if err := m1.Append(recs); !errors.As(err, &ce) {
				t.Errorf("a mirror that failed must keep failing: %v", err)
			}
		})
	}
}

// The lock: a second taker is refused naming the holder; force-unlock
// records who forced it and the holder notices at its next renewal.
func TestLockForce(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			be := open(t, kind, nil)
			lost := make(chan error, 1)
			l, err := be.Lock(ctx, "apply", LockOptions{Lost: func(err error) { lost <- err }})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.SetRun("run-1"); err != nil {
				t.Fatal(err)
			}
			_, err = be.Lock(ctx, "apply", LockOptions{})
			var le *LockedError
			if !errors.As(err, &le) || le.Holder == nil || le.Holder.ID != l.Holder().ID || le.Holder.RunID != "run-1" {
				t.Fatalf("second lock: %v (holder %+v)", err, le)
			}
			if _, err := be.ForceUnlock(ctx, "not-the-id"); err == nil {
				t.Fatal("force-unlock with another ID removed the lock")
			}
			if _, err := be.ForceUnlock(ctx, l.Holder().ID); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-lost:
				var le *LostError
				if !errors.As(err, &le) || l.Verify() == nil {
					t.Fatalf("lost with %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the holder did not notice its forced lock within a renewal interval")
			}
			hist, err := LockHistory(ctx, be)
			if err != nil || len(hist) != 1 || hist[0].Lock.ID != l.Holder().ID || hist[0].By == "" {
				t.Fatalf("history %+v %v", hist, err)
			}
			l2, err := be.Lock(ctx, "apply", LockOptions{Timeout: 30 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			l2.Release()
		})
	}
}

// Prune keeps the newest Keep finished runs and never removes an
// unfinished one.
func TestPrune(t *testing.T) {
	for _, kind := range kinds {
		t.Run(string(kind), func(t *testing.T) {
			ctx := context.Background()
			be := open(t, kind, func(c *Config) { c.Keep = 2 })
			write := func(id string, finished bool) {
				j, err := journal.Open(filepath.Join(t.TempDir(), journal.FileName), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer j.Close()
				recs := []journal.Record{{Kind: journal.KindRun, RunID: id, Runbook: "rb"}}
				if finished {
					recs = append(recs, journal.Record{Kind: journal.KindEnd, Status: journal.StatusFinished})
				}
				if err := j.Append(recs...); err != nil {
					t.Fatal(err)
				}
				m, err := be.Mirror(ctx, id, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Append(j.Records()); err != nil {
					t.Fatal(err)
				}
			}
			write("r1", true)
			write("r2", false)
			write("r3", true)
			write("r4", true)
			if err := Prune(ctx, be); err != nil {
				t.Fatal(err)
			}
			runs, err := be.Runs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range runs {
				ids = append(ids, r.ID)
			}
			if got := strings.Join(ids, " "); got != "r2 r3 r4" {
				t.Errorf("after prune: %s, want r2 r3 r4", got)
			}
		})
	}
}
