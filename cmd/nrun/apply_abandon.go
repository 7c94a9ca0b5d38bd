package main

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/nrun-dev/nrun/executor"
)

// runAbandon is nrun apply -abandon: the explicit way past a run that
// cannot be resumed (its journal is damaged) or that the operator settled
// by hand. It touches no cluster and reads no runbook, only the state
// directory (-state-dir, or the one of PATH), under the state lock.
func runAbandon(s *streams, a applyArgs) int {
	errf := func(format string, args ...any) int {
		fmt.Fprintf(s.Stderr, "nrun apply: "+format+"\n", args...)
		return exitError
	}
	if a.Resume || a.RunID != "" || len(a.Approve) > 0 || len(a.AssumeDone) > 0 || len(a.Redo) > 0 {
		return errf("-abandon goes alone (with -state-dir and PATH); it does not run anything")
	}
	stateDir := a.StateDir
	if stateDir == "" {
		stateDir = executor.StateDirFor(a.Path)
	}
	lock, err := executor.AcquireLock(context.Background(), stateDir, "abandon", executor.LockOptions{
		Timeout: a.LockTimeout,
		Stale: func(l executor.LockInfo) {
			fmt.Fprintf(s.Stderr, "nrun apply: removing the stale lock %s of pid %d on %s (that process no longer runs and holds no flock on it)\n", l.ID, l.PID, l.Host)
		},
	})
	if err != nil {
		return errf("%v", err)
	}
	defer lock.Release()
	who := "unknown"
	if u, err := user.Current(); err == nil {
		who = u.Username
	}
	host, _ := os.Hostname()
	ab, err := executor.Abandon(stateDir, a.Abandon, who, host, time.Now())
	if err != nil {
		return errf("%v", err)
	}
	fmt.Fprintf(s.Stderr, "nrun apply: run %s abandoned by %s at %s; it will not be resumed and no longer blocks new runs.\n", ab.RunID, ab.By, ab.Time.Format(time.RFC3339))
	if ab.Reason != "" {
		fmt.Fprintf(s.Stderr, "Its journal could not be read (%s); it is kept as it was, with %s beside it.\n", ab.Reason, executor.AbandonFile)
	}
	return exitOK
}
