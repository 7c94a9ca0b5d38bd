package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nrun-dev/nrun/backend"
	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/operation"
)

func init() {
	register(&command{Name: "runs", Synopsis: "List the runs of a runbook, from its backend", Run: runRuns})
}

const runsHelp = `Usage: nrun runs [options] [PATH]

  Lists the runs of the runbook at PATH (default: the current directory)
  kept by its backend: ID, state, who started it and where, when it
  started and last ended, the runbook's source hash, and how many step
  instances finished, failed or are left. With a consul or nomad backend
  the list is the team's, whichever machine ran them; each run's journal
  is verified (its hash chain) as a local one is, and a run that does not
  prove its integrity is listed as damaged, never left out. The lock's
  holder, if any, is shown first.

Options:

  -backend=KIND    local, consul or nomad. Default: the runbook's backend
                   block, else local.
  -state-dir DIR   The local backend's state directory. Default: .nrun
                   next to the runbook.

Exit codes:
  0  listed (possibly none)
  1  the backend cannot be read, or bad usage
`

func runRuns(s *streams, args []string) int {
	fs := newFlagSet("runs")
	kind := fs.String("backend", "", "")
	stateDir := fs.String("state-dir", "", "")
	if err := fs.Parse(args); err != nil {
		return usageError(s, "runs", runsHelp, err)
	}
	path, err := runbookPath(fs, "runs")
	if err != nil {
		return usageError(s, "runs", runsHelp, err)
	}
	be, err := openBackend(s, path, *kind, *stateDir)
	if err != nil {
		fmt.Fprintf(s.Stderr, "nrun runs: %v\n", err)
		return exitError
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if h, err := be.ReadLock(ctx); err == nil && h != nil {
		fmt.Fprintf(s.Stdout, "Locked by %s\n\n", h)
	}
	runs, err := be.Runs(ctx)
	if err != nil {
		fmt.Fprintf(s.Stderr, "nrun runs: %v\n", err)
		return exitError
	}
	if len(runs) == 0 {
		fmt.Fprintf(s.Stdout, "No runs in %s.\n", be.Where())
		return exitOK
	}
	w := tabwriter.NewWriter(s.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "RUN\tSTATE\tWHO\tSTARTED\tENDED\tSOURCE\tDONE/FAILED/LEFT")
	for _, r := range runs {
		if r.Err != nil && r.Abandoned != nil {
			fmt.Fprintf(w, "%s\tabandoned\t%s\t\t%s\t\tdamaged: %v\n", r.ID, r.Abandoned.By, r.Abandoned.Time.Format(time.RFC3339), r.Err)
			continue
		}
		if r.Err != nil {
			fmt.Fprintf(w, "%s\tdamaged\t\t\t\t\t%v\n", r.ID, r.Err)
			continue
		}
		st := r.State
		h := st.Header
		state := "unfinished"
		ended := "-"
		if st.End != nil {
			state, ended = st.End.Status, st.End.Time.Format(time.RFC3339)
		}
		if r.Abandoned != nil {
			state = "abandoned"
		} else if st.Unfinished() && st.End != nil && st.End.Status == journal.StatusFinished {
			state = "unfinished"
		}
		var done, failed int
		for _, in := range st.Instances {
			switch in.Phase {
			case journal.PhaseFinished:
				done++
			case journal.PhaseFailed:
				failed++
			}
		}
		src := strings.TrimPrefix(h.SourceHash, "sha256:")
		if len(src) > 12 {
			src = src[:12]
		}
		fmt.Fprintf(w, "%s\t%s\t%s@%s\t%s\t%s\t%s\t%d/%d/%d\n", r.ID, state, h.User, h.Host, h.Time.Format(time.RFC3339), ended, src, done, failed, len(st.NotDone()))
	}
	w.Flush()
	return exitOK
}

// openBackend opens the backend of the runbook at path: -backend, else
// its backend block, else the local state directory.
func openBackend(s *streams, path, kind, stateDir string) (backend.Backend, error) {
	rb, _ := lang.Load(path)
	if stateDir == "" {
		stateDir = executor.StateDirFor(path)
	}
	cfg, err := operation.BackendConfig(rb, path, operation.BackendChoice{Kind: kind}, nil, stateDir, s.Getenv)
	if err != nil {
		return nil, err
	}
	return backend.Open(cfg)
}
