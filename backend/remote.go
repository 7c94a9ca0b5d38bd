package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/executor/journal"
)

// store is what a remote backend needs of Consul KV or Nomad Variables.
type store interface {
	where() string
	chunkSize() int
	// get returns a value and its modify index; errNotFound when absent.
	get(ctx context.Context, key string) ([]byte, uint64, error)
	// put writes key if its modify index is still index (0: only if
	// absent) and, when fence is set, only while fence holds; it returns
	// the new index, errConflict on a mismatch, a *LostError when the
	// fence does not hold.
	put(ctx context.Context, key string, val []byte, index uint64, fence lease) (uint64, error)
	// keys lists the keys under prefix (prefix ends in /).
	keys(ctx context.Context, prefix string) ([]string, error)
	del(ctx context.Context, key string) error
	// acquire takes the lock at key with holder as its value; a
	// *LockedError (Holder unset) when it is held.
	acquire(ctx context.Context, key string, holder []byte, ttl, delay time.Duration) (lease, error)
	// peekLock returns the lock's value and whether it is held.
	peekLock(ctx context.Context, key string) ([]byte, bool, error)
	// breakLock frees the lock however it is held.
	breakLock(ctx context.Context, key string) error
}

// lease is a held store lock.
type lease interface {
	// renew extends it; a *LostError when it is gone.
	renew(ctx context.Context) error
	release(ctx context.Context) error
	// update rewrites the lock's value.
	update(ctx context.Context, holder []byte) error
}

var (
	errNotFound = errors.New("not found")
	errConflict = errors.New("check-and-set conflict")
)

type remote struct {
	s    store
	cfg  Config
	kind Kind
}

func (b *remote) Kind() Kind      { return b.kind }
func (b *remote) Where() string   { return b.s.where() }
func (b *remote) lockKey() string { return b.cfg.Path + "/lock" }
func (b *remote) runsPrefix() string {
	return b.cfg.Path + "/runs/"
}
func (b *remote) chunkPrefix(runID string) string { return b.runsPrefix() + runID + "/j/" }

func (b *remote) Lock(ctx context.Context, operation string, o LockOptions) (Lock, error) {
	h := NewHolder(operation)
	val, _ := json.Marshal(h)
	start := time.Now()
	told, toldDown := false, false
	for {
		try := time.Now()
		ls, err := b.s.acquire(ctx, b.lockKey(), val, b.cfg.LockTTL, b.cfg.LockDelay)
		if err == nil {
			l := &remoteLock{b: b, h: h, ls: ls, valid: try.Add(b.cfg.LockTTL), stop: make(chan struct{}), lost: o.Lost}
			go l.keep()
			return l, nil
		}
		var le *LockedError
		if !errors.As(err, &le) {
			// The store does not answer (an election, a restart, a
			// keyring not ready yet): wait for it up to WriteWait.
			if ctx.Err() != nil || refused(err) || time.Since(start) >= max(b.cfg.WriteWait, o.Timeout) {
				return nil, fmt.Errorf("take the lock in %s: %w", b.Where(), err)
			}
			if !toldDown && o.Unavailable != nil {
				o.Unavailable(err)
				toldDown = true
			}
			t := time.NewTimer(time.Second)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
			continue
		}
		le.Where, le.Kind = b.Where(), b.kind
		if hv, held, perr := b.s.peekLock(ctx, b.lockKey()); perr == nil && held {
			var hh Holder
			if json.Unmarshal(hv, &hh) == nil {
				le.Holder = &hh
			}
		}
		waited := time.Since(start)
		if waited >= o.Timeout {
			if o.Timeout > 0 {
				le.Waited = waited.Round(time.Millisecond)
			}
			return nil, le
		}
		if !told && o.Waiting != nil {
			o.Waiting(le)
			told = true
		}
		t := time.NewTimer(min(500*time.Millisecond, o.Timeout-waited))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// remoteLock is a held store lock, renewed in the background at a third
// of its TTL. It holds until valid: the start of the last renewal that
// succeeded plus the TTL. The store counts the TTL from when it handled
// the renewal, later than its start, so the holder gives the lock up
// before the store does, even when its process was frozen.
type remoteLock struct {
	b     *remote
	h     Holder
	ls    lease
	mu    sync.Mutex
	valid time.Time
	err   error
	stop  chan struct{}
	once  sync.Once
	lost  func(error)
}

func (l *remoteLock) Holder() Holder { return l.h }

func (l *remoteLock) keep() {
	ttl := l.b.cfg.LockTTL
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		if l.Verify() != nil {
			return
		}
		start := time.Now()
		ctx, cancel := context.WithDeadline(context.Background(), l.validUntil())
		err := l.ls.renew(ctx)
		cancel()
		l.mu.Lock()
		var lost *LostError
		switch {
		case err == nil:
			l.valid = start.Add(ttl)
		case errors.As(err, &lost):
			l.err = lost
		}
		l.mu.Unlock()
		if err := l.Verify(); err != nil {
			if l.lost != nil {
				l.lost(err)
			}
			return
		}
	}
}

func (l *remoteLock) validUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.valid
}

func (l *remoteLock) Verify() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	if !time.Now().Before(l.valid) {
		l.err = &LostError{Where: l.b.Where(), Why: fmt.Sprintf("it was not renewed within its TTL of %s", l.b.cfg.LockTTL)}
	}
	return l.err
}

func (l *remoteLock) SetRun(runID string) error {
	if err := l.Verify(); err != nil {
		return err
	}
	h := l.h
	h.RunID = runID
	val, _ := json.Marshal(h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := l.ls.update(ctx, val); err != nil {
		return err
	}
	l.h = h
	return nil
}

func (l *remoteLock) Release() error {
	l.once.Do(func() { close(l.stop) })
	if l.Verify() != nil {
		return nil
	}
	l.mu.Lock()
	l.err = &LostError{Where: l.b.Where(), Why: "it was released"}
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return l.ls.release(ctx)
}

func (b *remote) ReadLock(ctx context.Context) (*Holder, error) {
	v, held, err := b.s.peekLock(ctx, b.lockKey())
	if err != nil || !held {
		return nil, err
	}
	var h Holder
	if err := json.Unmarshal(v, &h); err != nil {
		return &Holder{ID: "(unreadable)"}, nil
	}
	return &h, nil
}

// ForceEvent is one entry of the lock history: who forced which lock.
type ForceEvent struct {
	Time time.Time `json:"time"`
	By   string    `json:"by"`
	Lock Holder    `json:"lock"`
}

func (b *remote) ForceUnlock(ctx context.Context, id string) (Holder, error) {
	h, err := b.ReadLock(ctx)
	if err != nil {
		return Holder{}, err
	}
	if h == nil {
		return Holder{}, fmt.Errorf("the lock in %s is not held", b.Where())
	}
	if h.ID != id {
		return *h, fmt.Errorf("the lock ID in %s is %s, not %s; nothing was removed", b.Where(), h.ID, id)
	}
	by := NewHolder("force-unlock")
	ev, _ := json.Marshal(ForceEvent{Time: time.Now().UTC(), By: by.Who, Lock: *h})
	key := b.cfg.Path + "/lock-history/" + time.Now().UTC().Format("20060102T150405Z") + "-" + by.ID[:8]
	if _, err := b.s.put(ctx, key, ev, 0, nil); err != nil {
		return *h, fmt.Errorf("cannot record who forced the lock in %s (%v); nothing was removed", b.Where(), err)
	}
	return *h, b.s.breakLock(ctx, b.lockKey())
}

// LockHistory returns who forced which lock, oldest first.
func LockHistory(ctx context.Context, be Backend) ([]ForceEvent, error) {
	b, ok := be.(*remote)
	if !ok {
		return nil, nil
	}
	keys, err := b.s.keys(ctx, b.cfg.Path+"/lock-history/")
	if err != nil {
		return nil, err
	}
	sort.Strings(keys)
	var out []ForceEvent
	for _, k := range keys {
		v, _, err := b.s.get(ctx, k)
		if err != nil {
			return out, err
		}
		var e ForceEvent
		if err := json.Unmarshal(v, &e); err != nil {
			return out, fmt.Errorf("%s: %v", k, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func (b *remote) runIDs(ctx context.Context) ([]string, error) {
	keys, err := b.s.keys(ctx, b.runsPrefix())
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ids []string
	for _, k := range keys {
		id, _, _ := strings.Cut(strings.TrimPrefix(k, b.runsPrefix()), "/")
		if id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}

func (b *remote) Runs(ctx context.Context) ([]Run, error) {
	ids, err := b.runIDs(ctx)
	if err != nil {
		return nil, err
	}
	var out []Run
	for _, id := range ids {
		r := Run{ID: id}
		data, err := b.Fetch(ctx, id)
		if err == nil {
			var c journal.Contents
			c, err = journal.ReadBytes(data)
			r.Records = c.Records
		}
		if err != nil {
			r.Err = err
		} else {
			r.State = journal.Replay(r.Records)
		}
		ab, aerr := b.readAbandonment(ctx, id)
		if aerr != nil && r.Err == nil {
			r.Err = aerr
		}
		r.Abandoned = ab
		if ab == nil && r.State != nil && r.State.Abandoned != nil {
			// The journal says so; the marker was not written (a crash).
			a := r.State.Abandoned
			r.Abandoned = &executor.Abandonment{RunID: id, By: a.User + "@" + a.Host, Time: a.Time}
		}
		out = append(out, r)
	}
	return out, nil
}

// chunks reads a run's chunks in order, with their indexes.
func (b *remote) chunks(ctx context.Context, runID string) ([][]byte, []uint64, error) {
	keys, err := b.s.keys(ctx, b.chunkPrefix(runID))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(keys)
	var data [][]byte
	var idx []uint64
	for i, k := range keys {
		if want := b.chunkPrefix(runID) + chunkName(i+1); k != want {
			return nil, nil, &journal.DamageError{Why: fmt.Sprintf("%s holds %s where %s was due: a chunk of the journal is missing", b.Where(), k, want)}
		}
		v, ix, err := b.s.get(ctx, k)
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", k, err)
		}
		data, idx = append(data, v), append(idx, ix)
	}
	return data, idx, nil
}

func chunkName(n int) string { return fmt.Sprintf("%06d", n) }

func (b *remote) Fetch(ctx context.Context, runID string) ([]byte, error) {
	cs, _, err := b.chunks(ctx, runID)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("%s holds no run %s", b.Where(), runID)
	}
	data := bytes.Join(cs, nil)
	if _, err := journal.ReadBytes(data); err != nil {
		return nil, fmt.Errorf("the copy of run %s in %s: %w", runID, b.Where(), err)
	}
	return data, nil
}

func (b *remote) abandonKey(runID string) string { return b.runsPrefix() + runID + "/abandoned" }

// readAbandonment returns the abandon record of a run, nil when it has
// none. A value that is not one is an error: the run then blocks.
func (b *remote) readAbandonment(ctx context.Context, runID string) (*executor.Abandonment, error) {
	key := b.abandonKey(runID)
	v, _, err := b.s.get(ctx, key)
	if errors.Is(err, errNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	var a executor.Abandonment
	if err := json.Unmarshal(v, &a); err != nil || a.By == "" {
		return nil, fmt.Errorf("%s in %s is not an abandon record nrun wrote (%v)", key, b.Where(), err)
	}
	return &a, nil
}

// Abandon records, while fence holds, that an operator gave the run up:
// an abandoned record appended to its copy when the copy can be read,
// then PATH/runs/RUN-ID/abandoned (the shape of a local abandoned.json),
// written only if absent. A copy that cannot be read is left as it is;
// the record says why it could not be read.
func (b *remote) Abandon(ctx context.Context, runID string, fence Lock) (*executor.Abandonment, error) {
	rl, ok := fence.(*remoteLock)
	if !ok || rl.b != b {
		return nil, fmt.Errorf("abandoning a run in %s needs its lock", b.Where())
	}
	if err := fence.Verify(); err != nil {
		return nil, err
	}
	ids, err := b.runIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the runs in %s: %w", b.Where(), err)
	}
	found := false
	for _, id := range ids {
		found = found || id == runID
	}
	if !found {
		return nil, fmt.Errorf("there is no run %s in %s", runID, b.Where())
	}
	if a, err := b.readAbandonment(ctx, runID); err != nil {
		return nil, err
	} else if a != nil {
		return a, fmt.Errorf("run %s was already abandoned by %s at %s", runID, a.By, a.Time.Format(time.RFC3339))
	}
	h := NewHolder("abandon")
	now := time.Now().UTC()
	a := &executor.Abandonment{RunID: runID, By: h.Who, Time: now}
	cs, _, err := b.chunks(ctx, runID)
	var damage *journal.DamageError
	switch {
	case errors.As(err, &damage):
		a.Reason = err.Error()
	case err != nil:
		return nil, err // the store did not answer: nothing is decided
	case len(cs) == 0:
		a.Reason = "its journal holds no chunk"
	}
	if a.Reason == "" {
		data := bytes.Join(cs, nil)
		c, err := journal.ReadBytes(data)
		if err != nil || len(c.Records) == 0 {
			if err == nil {
				err = errors.New("it holds no record")
			}
			a.Reason = fmt.Sprintf("the copy of run %s in %s: %v", runID, b.Where(), err)
		} else {
			m, err := b.Mirror(ctx, runID, c.Records, fence)
			if err != nil {
				return nil, err
			}
			lastLine := data[bytes.LastIndexByte(data[:len(data)-1], '\n')+1:]
			who, _, _ := strings.Cut(h.Who, "@")
			rec := journal.Record{Seq: c.Records[len(c.Records)-1].Seq + 1, Prev: journal.LineHash(lastLine), Time: now,
				Kind: journal.KindAbandoned, User: who, Host: h.Host, Detail: "nrun apply -abandon"}
			if err := m.Append([]journal.Record{rec}); err != nil {
				return nil, err
			}
		}
	}
	val, _ := json.MarshalIndent(a, "", "  ")
	key := b.abandonKey(runID)
	if _, err := b.s.put(ctx, key, append(val, '\n'), 0, rl.ls); err != nil {
		if errors.Is(err, errConflict) {
			return nil, &ConflictError{Where: b.Where(), Key: key}
		}
		return nil, fmt.Errorf("write %s in %s: %w", key, b.Where(), err)
	}
	return a, nil
}

// Prune removes the oldest finished or abandoned runs beyond Keep; an
// unfinished or unreadable run is never removed.
func Prune(ctx context.Context, be Backend) error {
	b, ok := be.(*remote)
	if !ok {
		return nil
	}
	runs, err := b.Runs(ctx)
	if err != nil {
		return err
	}
	var done []string
	for _, r := range runs {
		if r.Abandoned != nil || (r.Err == nil && !r.State.Unfinished()) {
			done = append(done, r.ID)
		}
	}
	for len(done) > b.cfg.Keep {
		keys, err := b.s.keys(ctx, b.runsPrefix()+done[0]+"/")
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := b.s.del(ctx, k); err != nil {
				return err
			}
		}
		done = done[1:]
	}
	return nil
}

// Mirror is the store's copy of one run's journal. Append writes the
// records a run appended to its local journal, each write a
// check-and-set on the last chunk's modify index, fenced by the lock.
type Mirror struct {
	mu     sync.Mutex
	b      *remote
	runID  string
	fence  lease
	lock   Lock
	chunk  int    // number of the last chunk (0: none yet)
	buf    []byte // its contents
	index  uint64 // its modify index (0: not written yet)
	seq    uint64 // records mirrored
	err    error
	resume []byte // a longer copy the store holds (see Ahead)
}

// Mirror opens the copy of runID. The store's copy must be a prefix of
// local (the records the state directory holds): then Append writes what
// it lacks. A copy that is longer than local is returned by Ahead; one
// that differs is refused.
func (b *remote) Mirror(ctx context.Context, runID string, local []journal.Record, fence Lock) (*Mirror, error) {
	m := &Mirror{b: b, runID: runID, lock: fence}
	if rl, ok := fence.(*remoteLock); ok {
		m.fence = rl.ls
	}
	cs, idx, err := b.chunks(ctx, runID)
	if err != nil {
		return nil, err
	}
	var lb []byte
	for _, r := range local {
		line, err := journal.Encode(r)
		if err != nil {
			return nil, err
		}
		lb = append(lb, line...)
	}
	rb := bytes.Join(cs, nil)
	if len(rb) > 0 {
		c, err := journal.ReadBytes(rb)
		if err != nil {
			return nil, fmt.Errorf("the copy of run %s in %s: %w", runID, b.Where(), err)
		}
		switch {
		case bytes.HasPrefix(lb, rb):
		case bytes.HasPrefix(rb, lb):
			m.resume = rb
		default:
			return nil, fmt.Errorf("the copy of run %s in %s (%d records) and the journal in this state directory (%d records) differ: two machines wrote this run. Inspect both; resume from an empty state directory to continue from the copy in %s", runID, b.Where(), len(c.Records), len(local), b.Where())
		}
		m.seq = uint64(len(c.Records))
		m.chunk, m.buf, m.index = len(cs), cs[len(cs)-1], idx[len(idx)-1]
	}
	return m, nil
}

// Ahead returns the store's copy when it holds more than the state
// directory: another machine continued the run. The caller replaces its
// journal with it (it was verified) and opens the mirror again.
func (m *Mirror) Ahead() []byte { return m.resume }

// Mirrored is the seq of the last record the store holds.
func (m *Mirror) Mirrored() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seq
}

// Append writes recs (those after Mirrored) to the store. It waits for
// a store that cannot be written up to Config.WriteWait; a conflict, a
// lost lock or the bound passed is an error the run stops on, and every
// later Append returns it.
func (m *Mirror) Append(recs []journal.Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	var add []byte
	last := m.seq
	// The lock fences the writes that come before an action (its intent)
	// or take a run over (a header): those must not land once the lock
	// is gone. Any other record tells what already happened, and the
	// check-and-set alone keeps it from overwriting another writer's.
	fenced := false
	for _, r := range recs {
		if r.Seq <= last {
			continue
		}
		switch r.Kind {
		case journal.KindIntent, journal.KindRun, journal.KindResume, journal.KindExecStart, journal.KindAbandoned:
			fenced = true
		}
		if r.Seq != last+1 {
			return fmt.Errorf("mirror: record %d follows %d", r.Seq, last)
		}
		line, err := journal.Encode(r)
		if err != nil {
			return err
		}
		add = append(add, line...)
		last = r.Seq
	}
	if len(add) == 0 {
		return nil
	}
	size := m.b.s.chunkSize()
	if m.b.cfg.ChunkSize > 0 {
		size = m.b.cfg.ChunkSize
	}
	for len(add) > 0 {
		if m.chunk == 0 || len(m.buf) >= size {
			m.chunk, m.buf, m.index = m.chunk+1, nil, 0
		}
		n := min(size-len(m.buf), len(add))
		next := append(append([]byte(nil), m.buf...), add[:n]...)
		ix, err := m.write(next, fenced)
		if err != nil {
			m.err = err
			return err
		}
		m.buf, m.index, add = next, ix, add[n:]
	}
	m.seq = last
	return nil
}

func (m *Mirror) write(val []byte, fenced bool) (uint64, error) {
	var fence lease
	if fenced {
		fence = m.fence
	}
	key := m.b.chunkPrefix(m.runID) + chunkName(m.chunk)
	start := time.Now()
	wait := m.b.cfg.WriteWait
	backoff := 200 * time.Millisecond
	for {
		if m.lock != nil {
			if err := m.lock.Verify(); err != nil {
				return 0, err
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ix, err := m.b.s.put(ctx, key, val, m.index, fence)
		cancel()
		var lost *LostError
		switch {
		case err == nil:
			return ix, nil
		case errors.Is(err, errConflict):
			// A write that timed out may have landed: then the store
			// holds exactly val, and it was this process's.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			got, gix, gerr := m.b.s.get(ctx, key)
			cancel()
			if gerr == nil && bytes.Equal(got, val) {
				return gix, nil
			}
			return 0, &ConflictError{Where: m.b.Where(), Key: key}
		case errors.As(err, &lost):
			return 0, err
		}
		if refused(err) {
			return 0, fmt.Errorf("write %s in %s: %w", key, m.b.Where(), err)
		}
		if time.Since(start) >= wait {
			return 0, &UnavailableError{Where: m.b.Where(), Waited: time.Since(start), Err: err}
		}
		time.Sleep(min(backoff, wait-time.Since(start)))
		backoff = min(backoff*2, 2*time.Second)
	}
}

// sameHolder reports whether two holder values name the same lock ID.
func sameHolder(a, b []byte) bool {
	var x, y Holder
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && x.ID != "" && x.ID == y.ID
}

// refused reports whether the store refused a request for good (the token
// lacks a permission, or is unknown): waiting would not change it.
func refused(err error) bool {
	s := err.Error()
	for _, w := range []string{"403", "401", "Permission denied", "ACL not found"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
