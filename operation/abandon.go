package operation

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/nrun-dev/nrun/backend"
	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/lang"
)

// AbandonRequest is `nrun apply -abandon RUN-ID`: give up a run that
// cannot be resumed (its journal is damaged) or that the operator settled
// by hand, so that it no longer blocks new runs.
type AbandonRequest struct {
	// Path is the runbook, for its state directory; StateDir overrides.
	Path        string
	StateDir    string
	RunID       string
	LockTimeout time.Duration
	// Backend is where the run is (-backend, else the runbook's backend
	// block, else local). A consul or nomad backend reads the runbook at
	// Path for its block and its cluster.
	Backend BackendChoice
	// Getenv reads the cluster settings and tokens; os.Getenv when nil.
	Getenv func(string) string
}

// Abandon records, under the lock of the runbook's backend, who abandoned
// the run and when. With the local backend it touches no cluster; the
// runbook is read only for its backend block. info receives what the
// operator should know on the way (a stale lock removed, the backend).
func Abandon(ctx context.Context, req AbandonRequest, info func(string)) (*executor.Abandonment, error) {
	stateDir := req.StateDir
	if stateDir == "" {
		stateDir = executor.StateDirFor(req.Path)
	}
	if req.Getenv == nil {
		req.Getenv = os.Getenv
	}
	rb, _ := lang.Load(req.Path)
	bcfg, err := BackendConfig(rb, req.Path, req.Backend, nil, stateDir, req.Getenv)
	if err != nil {
		return nil, err
	}
	if bcfg.Kind != backend.Local {
		return abandonRemote(ctx, req, bcfg, stateDir, info)
	}
	return abandonLocal(ctx, req, stateDir, info)
}

func abandonLocal(ctx context.Context, req AbandonRequest, stateDir string, info func(string)) (*executor.Abandonment, error) {
	lock, err := executor.AcquireLock(ctx, stateDir, "abandon", executor.LockOptions{
		Timeout: req.LockTimeout,
		Stale: func(l executor.LockInfo) {
			info(fmt.Sprintf("removing the stale lock %s of pid %d on %s (that process no longer runs and holds no flock on it)", l.ID, l.PID, l.Host))
		},
	})
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	host, _ := os.Hostname()
	return executor.Abandon(stateDir, req.RunID, who, host, time.Now())
}

// abandonRemote records the abandonment in a consul or nomad backend,
// under its lock: while another nrun holds the lock (a run that may still
// act) it refuses and names the holder. A state directory that holds a
// copy of the run gives it up too, so that it blocks nothing here either.
func abandonRemote(ctx context.Context, req AbandonRequest, bcfg backend.Config, stateDir string, info func(string)) (*executor.Abandonment, error) {
	be, err := backend.Open(bcfg)
	if err != nil {
		return nil, err
	}
	info("backend: " + be.Where())
	lock, err := be.Lock(ctx, "abandon", backend.LockOptions{
		Timeout: req.LockTimeout,
		Waiting: func(e *backend.LockedError) {
			info(fmt.Sprintf("%s; waiting up to %s for it (-lock-timeout)", strings.TrimSuffix(firstLine(e.Error()), "."), req.LockTimeout))
		},
	})
	if err != nil {
		var le *backend.LockedError
		if errors.As(err, &le) {
			return nil, fmt.Errorf("run %s is not abandoned: %w", req.RunID, err)
		}
		return nil, err
	}
	defer lock.Release()
	ab, err := be.Abandon(ctx, req.RunID, lock)
	if err != nil {
		return ab, err
	}
	if _, err := os.Stat(executor.RunDir(stateDir, req.RunID)); err == nil {
		if _, lerr := abandonLocal(ctx, req, stateDir, info); lerr != nil && !strings.Contains(lerr.Error(), "already abandoned") {
			info(fmt.Sprintf("the copy of run %s in %s was not marked abandoned (%v); the backend's record stands", req.RunID, stateDir, lerr))
		}
	}
	return ab, nil
}
