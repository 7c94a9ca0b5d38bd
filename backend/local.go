package backend

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/executor/journal"
)

// localBackend is the state directory, as nrun keeps it without a
// backend: a flock'd lock file and one journal per run directory. Its
// journal is its own copy, so it has no Mirror.
type localBackend struct{ dir string }

func (b *localBackend) Kind() Kind    { return Local }
func (b *localBackend) Where() string { return "the state directory " + b.dir }

type localLock struct{ l *executor.Lock }

func (l localLock) Holder() Holder {
	i := l.l.Info
	return Holder{ID: i.ID, Operation: i.Operation, Who: i.Who, Host: i.Host, PID: i.PID, RunID: i.RunID, Since: i.Created}
}
func (l localLock) Verify() error             { return l.l.Verify() }
func (l localLock) SetRun(runID string) error { return l.l.SetRun(runID) }
func (l localLock) Release() error            { return l.l.Release() }

func (b *localBackend) Lock(ctx context.Context, operation string, o LockOptions) (Lock, error) {
	l, err := executor.AcquireLock(ctx, b.dir, operation, executor.LockOptions{Timeout: o.Timeout})
	if err != nil {
		return nil, err
	}
	return localLock{l}, nil
}

func (b *localBackend) ReadLock(ctx context.Context) (*Holder, error) {
	i, err := executor.ReadLock(b.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &Holder{ID: i.ID, Operation: i.Operation, Who: i.Who, Host: i.Host, PID: i.PID, RunID: i.RunID, Since: i.Created}, nil
}

func (b *localBackend) ForceUnlock(ctx context.Context, id string) (Holder, error) {
	i, err := executor.ForceUnlock(b.dir, id)
	return Holder{ID: i.ID, Operation: i.Operation, Who: i.Who, Host: i.Host, PID: i.PID, RunID: i.RunID, Since: i.Created}, err
}

func (b *localBackend) Runs(ctx context.Context) ([]Run, error) {
	rs, err := executor.ListRuns(b.dir)
	if err != nil {
		return nil, err
	}
	var out []Run
	for _, r := range rs {
		x := Run{ID: r.ID, State: r.State, Err: r.Err, Abandoned: r.Abandoned}
		if r.Err == nil {
			x.Records, _ = journal.Read(filepath.Join(r.Dir, journal.FileName))
		}
		out = append(out, x)
	}
	return out, nil
}

func (b *localBackend) Abandon(ctx context.Context, runID string, fence Lock) (*executor.Abandonment, error) {
	if err := fence.Verify(); err != nil {
		return nil, err
	}
	h := NewHolder("abandon")
	who, _, _ := strings.Cut(h.Who, "@")
	return executor.Abandon(b.dir, runID, who, h.Host, time.Now())
}

func (b *localBackend) Fetch(ctx context.Context, runID string) ([]byte, error) {
	return os.ReadFile(filepath.Join(executor.RunDir(b.dir, runID), journal.FileName))
}

func (b *localBackend) Mirror(ctx context.Context, runID string, local []journal.Record, fence Lock) (*Mirror, error) {
	return nil, nil
}
