package main

import (
	"fmt"

	"github.com/nrun-dev/nrun/executor"
)

func init() {
	register(&command{Name: "force-unlock", Synopsis: "Remove a state directory's lock left by an apply", Run: runForceUnlock})
}

const forceUnlockHelp = `Usage: nrun force-unlock [options] LOCK-ID

  Removes the lock of a state directory, as terraform force-unlock does.
  Use it only when the apply that holds the lock is certainly gone (its
  machine died); the lock's ID, holder, host and pid are printed by the
  apply that was refused. A lock left by a crashed apply on this host is
  detected and replaced by the next apply without this command.

Options:

  -state-dir DIR   State directory. Default: .nrun in the current directory.

Exit codes:
  0  the lock was removed
  1  no lock, a different lock ID, or bad usage
`

func runForceUnlock(s *streams, args []string) int {
	fs := newFlagSet("force-unlock")
	dir := fs.String("state-dir", ".nrun", "")
	if err := fs.Parse(args); err != nil {
		return usageError(s, "force-unlock", forceUnlockHelp, err)
	}
	if fs.NArg() != 1 {
		return usageError(s, "force-unlock", forceUnlockHelp, fmt.Errorf("force-unlock takes one LOCK-ID"))
	}
	info, err := executor.ForceUnlock(*dir, fs.Arg(0))
	if err != nil {
		fmt.Fprintf(s.Stderr, "nrun force-unlock: %v\n", err)
		return exitError
	}
	fmt.Fprintf(s.Stdout, "Removed lock %s held by %s (pid %d, %s since %s).\n", info.ID, info.Who, info.PID, info.Operation, info.Created.Format("2006-01-02T15:04:05Z"))
	return exitOK
}
