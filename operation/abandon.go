package operation

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/nrun-dev/nrun/executor"
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
}

// Abandon records, under the state lock, who abandoned the run and when.
// It touches no cluster and reads no runbook. info receives what the
// operator should know on the way (a stale lock removed).
func Abandon(ctx context.Context, req AbandonRequest, info func(string)) (*executor.Abandonment, error) {
	stateDir := req.StateDir
	if stateDir == "" {
		stateDir = executor.StateDirFor(req.Path)
	}
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
