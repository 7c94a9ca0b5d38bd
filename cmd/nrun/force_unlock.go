package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nrun-dev/nrun/backend"
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
  detected (its process is gone and nobody holds the lock file's flock)
  and replaced by the next apply without this command.

  It shows the lock and asks for confirmation: Only 'yes' is accepted.
  Without a terminal it refuses unless -force is given. Who forced the
  lock, when, and the lock's details are appended to STATE/lock-history.
  If the holder still runs, it notices before its next action (and within
  seconds while it waits), starts nothing new and fails.

  With -backend=consul or -backend=nomad it removes the runbook's lock in
  that backend instead (the runbook named by -runbook gives the path, as
  apply computes it). Who forced it, when, and the lock's holder are
  recorded under PATH/lock-history in the backend; the holder notices at
  its next renewal (a third of the lock's TTL), starts nothing new and
  exits 3.

Options:

  -state-dir DIR   State directory. Default: .nrun in the current directory.
  -backend=KIND    local (default), consul or nomad.
  -runbook PATH    With a consul or nomad backend: the runbook whose lock
                   it is. Default: the current directory.
  -force           Do not ask for confirmation.

Exit codes:
  0  the lock was removed
  1  no lock, a different lock ID, not confirmed, or bad usage
`

func runForceUnlock(s *streams, args []string) int {
	fs := newFlagSet("force-unlock")
	dir := fs.String("state-dir", ".nrun", "")
	force := fs.Bool("force", false, "")
	kind := fs.String("backend", "", "")
	rbPath := fs.String("runbook", ".", "")
	if err := fs.Parse(args); err != nil {
		return usageError(s, "force-unlock", forceUnlockHelp, err)
	}
	if fs.NArg() != 1 {
		return usageError(s, "force-unlock", forceUnlockHelp, fmt.Errorf("force-unlock takes one LOCK-ID"))
	}
	id := fs.Arg(0)
	errf := func(format string, args ...any) int {
		fmt.Fprintf(s.Stderr, "nrun force-unlock: "+format+"\n", args...)
		return exitError
	}
	if *kind != "" && *kind != string(backend.Local) {
		return forceUnlockBackend(s, *kind, *rbPath, id, *force)
	}
	if !*force {
		held, err := executor.ReadLock(*dir)
		if errors.Is(err, os.ErrNotExist) {
			return errf("the state directory %s is not locked", *dir)
		}
		if err != nil {
			return errf("cannot read the lock of %s: %v", *dir, err)
		}
		if held.ID != id {
			return errf("the lock ID is %s, not %s; nothing was removed", held.ID, id)
		}
		if !s.StdinTTY {
			return errf("refusing to remove the lock without confirmation: stdin is not a terminal. Check that its holder is gone, then pass -force.")
		}
		fmt.Fprintf(s.Stderr, "The lock of %s:\n%s", *dir, held)
		if executor.LockHeld(*dir) {
			fmt.Fprintf(s.Stderr, "\nIts holder is STILL RUNNING: a process holds the lock file's flock (it may run in another container on this host). Removing the lock lets another nrun start while it runs; it stops starting new work when it notices.\n")
		}
		fmt.Fprint(s.Stderr, "\nDo you really want to force-unlock?\n  nrun will remove the lock; another apply may then start on this state directory.\n  Only 'yes' will be accepted to confirm.\n\n  Enter a value: ")
		line, _ := bufio.NewReader(s.Stdin).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			fmt.Fprintln(s.Stderr, "\nForce-unlock cancelled; the lock is kept.")
			return exitError
		}
	}
	info, err := executor.ForceUnlock(*dir, id)
	if err != nil {
		return errf("%v", err)
	}
	fmt.Fprintf(s.Stdout, "Removed lock %s held by %s (pid %d, %s since %s); recorded in %s.\n", info.ID, info.Who, info.PID, info.Operation, info.Created.Format("2006-01-02T15:04:05Z"), filepath.Join(*dir, executor.LockHistoryFile))
	return exitOK
}

func forceUnlockBackend(s *streams, kind, rbPath, id string, force bool) int {
	errf := func(format string, args ...any) int {
		fmt.Fprintf(s.Stderr, "nrun force-unlock: "+format+"\n", args...)
		return exitError
	}
	be, err := openBackend(s, rbPath, kind, "")
	if err != nil {
		return errf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	held, err := be.ReadLock(ctx)
	if err != nil {
		return errf("cannot read the lock in %s: %v", be.Where(), err)
	}
	if held == nil {
		return errf("the lock in %s is not held", be.Where())
	}
	if held.ID != id {
		return errf("the lock ID in %s is %s, not %s; nothing was removed", be.Where(), held.ID, id)
	}
	if !force {
		if !s.StdinTTY {
			return errf("refusing to remove the lock without confirmation: stdin is not a terminal. Check that its holder is gone, then pass -force.")
		}
		fmt.Fprintf(s.Stderr, "The lock in %s is held by %s.\n\nDo you really want to force-unlock?\n  Another apply may then start on this runbook; the holder, if it still runs, stops at its next renewal.\n  Only 'yes' will be accepted to confirm.\n\n  Enter a value: ", be.Where(), held)
		line, _ := bufio.NewReader(s.Stdin).ReadString('\n')
		if strings.TrimSpace(line) != "yes" {
			fmt.Fprintln(s.Stderr, "\nForce-unlock cancelled; the lock is kept.")
			return exitError
		}
	}
	h, err := be.ForceUnlock(ctx, id)
	if err != nil {
		return errf("%v", err)
	}
	fmt.Fprintf(s.Stdout, "Removed the lock in %s held by %s; recorded in its lock-history.\n", be.Where(), h)
	return exitOK
}
