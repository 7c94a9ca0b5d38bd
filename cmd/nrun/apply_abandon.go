package main

import (
	"context"
	"fmt"
	"time"

	"github.com/nrun-dev/nrun/operation"
)

// runAbandon is nrun apply -abandon: the explicit way past a run that
// cannot be resumed (its journal is damaged) or that the operator settled
// by hand.
func runAbandon(s *streams, a applyArgs) int {
	errf := func(format string, args ...any) int {
		fmt.Fprintf(s.Stderr, "nrun apply: "+format+"\n", args...)
		return exitError
	}
	if a.Resume || a.RunID != "" || len(a.Approve) > 0 || len(a.AssumeDone) > 0 || len(a.Redo) > 0 {
		return errf("-abandon goes alone (with -state-dir, -backend, -lock-timeout and PATH); it does not run anything")
	}
	ab, err := operation.Abandon(context.Background(), operation.AbandonRequest{
		Path: a.Path, StateDir: a.StateDir, RunID: a.Abandon, LockTimeout: a.LockTimeout,
		Backend: operation.BackendChoice{Kind: a.Backend}, Getenv: s.Getenv,
	}, func(msg string) { fmt.Fprintf(s.Stderr, "nrun apply: %s\n", msg) })
	if err != nil {
		return errf("%v", err)
	}
	fmt.Fprintf(s.Stderr, "nrun apply: run %s abandoned by %s at %s; it will not be resumed and no longer blocks new runs.\n", ab.RunID, ab.By, ab.Time.Format(time.RFC3339))
	if ab.Reason != "" {
		fmt.Fprintf(s.Stderr, "Its journal could not be read (%s); it is kept as it was, with the abandon record beside it.\n", ab.Reason)
	}
	return exitOK
}
