package main

import (
	"fmt"
	"time"

	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/views"
)

func init() {
	register(&command{Name: "status", Synopsis: "Summarise an apply run from its journal", Run: runStatus})
}

const statusHelp = `Usage: nrun status [options] [RUN-ID]

  Summarises a run of 'nrun apply' from its journal: who started it and
  when, how it ended, and the state of every step instance (finished, in
  progress or in doubt, failed, skipped, paused, not started). Without
  RUN-ID, the newest run. Reads only; works while an apply runs.

  A journal that does not prove its integrity (a damaged line, a missing
  record, a history nrun cannot have written) is not summarised: status
  says what is wrong and how to proceed. Such a run, unless abandoned
  (nrun apply -abandon RUN-ID), blocks new runs and resume; status names
  it whichever run is shown.

Options:

  -state-dir DIR   State directory. Default: .nrun in the current directory.
  -json            Print the replayed journal state as JSON (an object
                   with format_version "1", run_id, status, unfinished,
                   locked and state).

Exit codes:
  0  the run finished
  1  no such run, unreadable journal, or bad usage
  2  the run did not finish (failed, paused, interrupted, or still running)
`

func runStatus(s *streams, args []string) int {
	fs := newFlagSet("status")
	dir := fs.String("state-dir", ".nrun", "")
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil {
		return usageError(s, "status", statusHelp, err)
	}
	runs, err := executor.ListRuns(*dir)
	if err != nil {
		fmt.Fprintf(s.Stderr, "nrun status: %v\n", err)
		return exitError
	}
	// The newest run that started: one killed before its header did
	// nothing and says nothing.
	var r executor.RunSummary
	for i := len(runs) - 1; i >= 0 && r.ID == ""; i-- {
		if !runs[i].NeverStarted() {
			r = runs[i]
		}
	}
	if r.ID == "" && fs.NArg() == 0 {
		fmt.Fprintf(s.Stderr, "nrun status: there are no runs in %s\n", *dir)
		return exitError
	}
	if fs.NArg() > 0 {
		found := false
		for _, x := range runs {
			if x.ID == fs.Arg(0) {
				r, found = x, true
			}
		}
		if !found {
			fmt.Fprintf(s.Stderr, "nrun status: there is no run %s in %s\n", fs.Arg(0), *dir)
			return exitError
		}
	}
	if r.Err != nil {
		if r.Abandoned != nil {
			fmt.Fprintf(s.Stderr, "nrun status: run %s cannot be read: %v.\nIt was abandoned by %s at %s and blocks nothing.\n", r.ID, r.Err, r.Abandoned.By, r.Abandoned.Time.Format(time.RFC3339))
		} else {
			fmt.Fprintf(s.Stderr, "nrun status: %v\n", &executor.DamagedError{StateDir: *dir, Runs: []executor.RunSummary{r}})
		}
		return exitError
	}
	// Another run that cannot be read blocks apply whichever run is shown.
	var others []executor.RunSummary
	for _, x := range executor.Damaged(runs, "") {
		if x.ID != r.ID {
			others = append(others, x)
		}
	}
	if len(others) > 0 {
		fmt.Fprintf(s.Stderr, "nrun status: warning: %v\n", &executor.DamagedError{StateDir: *dir, Runs: others})
	}
	if r.Torn > 0 {
		fmt.Fprintf(s.Stderr, "nrun status: run %s: the journal ends in a torn write (%d bytes: a crash or a full disk cut its last record short); nrun apply -resume keeps it in a side file and continues from the last whole record.\n", r.ID, r.Torn)
	}
	if r.Abandoned != nil {
		fmt.Fprintf(s.Stderr, "nrun status: run %s was abandoned by %s at %s; it will not be resumed.\n", r.ID, r.Abandoned.By, r.Abandoned.Time.Format(time.RFC3339))
	}
	lock, lerr := executor.ReadLock(*dir)
	locked := lerr == nil && lock.RunID == r.ID
	if *asJSON {
		if err := views.RunStatusJSON(s.Stdout, r.ID, r.State, locked); err != nil {
			fmt.Fprintf(s.Stderr, "nrun status: %v\n", err)
			return exitError
		}
	} else {
		views.RunStatus(s.Stdout, r.ID, r.State, locked)
	}
	if r.State.Unfinished() {
		return 2
	}
	return exitOK
}
