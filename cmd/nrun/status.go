package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nrun-dev/nrun/backend"
	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/views"
)

func init() {
	register(&command{Name: "status", Synopsis: "Summarise an apply run from its journal", Run: runStatus})
}

const statusHelp = `Usage: nrun status [options] [PATH]

  Summarises a run of 'nrun apply' from its journal: who started it and
  when, how it ended, and the state of every step instance (finished, in
  progress or in doubt, failed, skipped, paused, not started). Without
  -run, the newest run. Reads only; works while an apply runs.

  PATH is the runbook (a .nrun.hcl file or its directory) as given to
  'nrun apply'; it defaults to the current directory. The journal is read
  from the state directory apply used: .nrun next to the runbook, unless
  -state-dir is given.

  A journal that does not prove its integrity (a damaged line, a missing
  record, a history nrun cannot have written) is not summarised: status
  says what is wrong and how to proceed. Such a run, unless abandoned
  (nrun apply -abandon RUN-ID), blocks new runs and resume; status names
  it whichever run is shown.

Options:

  -backend=KIND    Read the runs from the backend: local (the state
                   directory), consul or nomad. Default: the runbook's
                   backend block, else local. A consul or nomad backend
                   holds the team's runs, whichever machine ran them;
                   each is verified as a local journal is.
  -state-dir DIR   State directory. Default: .nrun next to the runbook.
  -run ID          The run to summarise. Default: the newest.
  -json            Print the replayed journal state as JSON (an object
                   with format_version "1", run_id, status, unfinished,
                   locked and state).

Exit codes:
  0  the run finished
  1  no such run, unreadable journal, or bad usage
  2  the run did not finish (failed, paused, interrupted, or still running)
`

// statusArgs are the parsed flags of `nrun status`.
type statusArgs struct {
	StateDir string
	RunID    string
	JSON     bool
	Backend  string
	Path     string
}

func parseStatusArgs(args []string) (statusArgs, error) {
	var a statusArgs
	fs := newFlagSet("status")
	fs.StringVar(&a.StateDir, "state-dir", "", "")
	fs.StringVar(&a.RunID, "run", "", "")
	fs.BoolVar(&a.JSON, "json", false, "")
	fs.StringVar(&a.Backend, "backend", "", "")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	var err error
	if a.Path, err = runbookPath(fs, "status"); err != nil {
		return a, err
	}
	return a, nil
}

// statusDir is the state directory status reads: -state-dir, else the
// one apply uses for the same PATH (executor.StateDirFor), so status
// finds the runs apply wrote wherever it was run from.
func statusDir(a statusArgs) string {
	if a.StateDir != "" {
		return a.StateDir
	}
	return executor.StateDirFor(a.Path)
}

func runStatus(s *streams, args []string) int {
	a, err := parseStatusArgs(args)
	if err != nil {
		return usageError(s, "status", statusHelp, err)
	}
	if a.StateDir == "" {
		// A run ID where PATH goes (the old 'nrun status RUN-ID') would
		// otherwise read as a runbook with no runs.
		if _, err := os.Stat(a.Path); err != nil {
			fmt.Fprintf(s.Stderr, "nrun status: %v. Give the runbook PATH as given to nrun apply; pick a run with -run ID.\n", err)
			return exitError
		}
	}
	dir := statusDir(a)
	if be, err := openBackend(s, a.Path, a.Backend, dir); err != nil {
		fmt.Fprintf(s.Stderr, "nrun status: %v\n", err)
		return exitError
	} else if be.Kind() != backend.Local {
		return backendStatus(s, a, be)
	}
	runs, err := executor.ListRuns(dir)
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
	if r.ID == "" && a.RunID == "" {
		fmt.Fprintf(s.Stderr, "nrun status: there are no runs in %s\n", dir)
		return exitError
	}
	if a.RunID != "" {
		found := false
		for _, x := range runs {
			if x.ID == a.RunID {
				r, found = x, true
			}
		}
		if !found {
			fmt.Fprintf(s.Stderr, "nrun status: there is no run %s in %s\n", a.RunID, dir)
			return exitError
		}
	}
	if r.Err != nil {
		if r.Abandoned != nil {
			fmt.Fprintf(s.Stderr, "nrun status: run %s cannot be read: %v.\nIt was abandoned by %s at %s and blocks nothing.\n", r.ID, r.Err, r.Abandoned.By, r.Abandoned.Time.Format(time.RFC3339))
		} else {
			fmt.Fprintf(s.Stderr, "nrun status: %v\n", &executor.DamagedError{StateDir: dir, Runs: []executor.RunSummary{r}})
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
		fmt.Fprintf(s.Stderr, "nrun status: warning: %v\n", &executor.DamagedError{StateDir: dir, Runs: others})
	}
	if r.Torn > 0 {
		fmt.Fprintf(s.Stderr, "nrun status: run %s: the journal ends in a torn write (%d bytes: a crash or a full disk cut its last record short); nrun apply -resume keeps it in a side file and continues from the last whole record.\n", r.ID, r.Torn)
	}
	if r.Abandoned != nil {
		fmt.Fprintf(s.Stderr, "nrun status: run %s was abandoned by %s at %s; it will not be resumed.\n", r.ID, r.Abandoned.By, r.Abandoned.Time.Format(time.RFC3339))
	}
	lock, lerr := executor.ReadLock(dir)
	return showRunStatus(s, a, r.ID, r.State, lerr == nil && lock.RunID == r.ID)
}

// backendStatus is status read from a consul or nomad backend.
func backendStatus(s *streams, a statusArgs, be backend.Backend) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runs, err := be.Runs(ctx)
	if err != nil {
		fmt.Fprintf(s.Stderr, "nrun status: %v\n", err)
		return exitError
	}
	var r *backend.Run
	for i := len(runs) - 1; i >= 0 && r == nil; i-- {
		if a.RunID == "" || runs[i].ID == a.RunID {
			r = &runs[i]
		}
	}
	if r == nil {
		if a.RunID != "" {
			fmt.Fprintf(s.Stderr, "nrun status: there is no run %s in %s\n", a.RunID, be.Where())
		} else {
			fmt.Fprintf(s.Stderr, "nrun status: there are no runs in %s\n", be.Where())
		}
		return exitError
	}
	if r.Err != nil && r.Abandoned != nil {
		fmt.Fprintf(s.Stderr, "nrun status: run %s in %s cannot be read: %v.\nIt was abandoned by %s at %s and blocks nothing.\n", r.ID, be.Where(), r.Err, r.Abandoned.By, r.Abandoned.Time.Format(time.RFC3339))
		return exitError
	}
	if r.Err != nil {
		fmt.Fprintf(s.Stderr, "nrun status: run %s in %s cannot be read: %v. nrun does not know what it did: inspect it and the cluster before resuming or starting a run; once you have settled by hand what it did, give it up with: nrun apply -abandon %s -backend=%s\n", r.ID, be.Where(), r.Err, r.ID, be.Kind())
		return exitError
	}
	if r.Abandoned != nil {
		fmt.Fprintf(s.Stderr, "nrun status: run %s was abandoned by %s at %s; it will not be resumed.\n", r.ID, r.Abandoned.By, r.Abandoned.Time.Format(time.RFC3339))
	}
	h, _ := be.ReadLock(ctx)
	return showRunStatus(s, a, r.ID, r.State, h != nil && h.RunID == r.ID)
}

// showRunStatus prints one run's state (text or -json) and returns the
// exit code: 2 while the run is unfinished.
func showRunStatus(s *streams, a statusArgs, id string, st *journal.State, locked bool) int {
	if a.JSON {
		if err := views.RunStatusJSON(s.Stdout, id, st, locked); err != nil {
			fmt.Fprintf(s.Stderr, "nrun status: %v\n", err)
			return exitError
		}
	} else {
		views.RunStatus(s.Stdout, id, st, locked)
	}
	if st.Unfinished() {
		return 2
	}
	return exitOK
}
