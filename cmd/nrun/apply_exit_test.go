package main

import (
	"errors"
	"testing"

	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/operation"
)

// TestApplyExitCode pins the one mapping from how an apply ended to the
// exit codes applyHelp documents.
func TestApplyExitCode(t *testing.T) {
	ran := func(status string, failed ...string) *operation.ApplyResult {
		return &operation.ApplyResult{Outcome: operation.Ran, Run: &executor.Result{Status: status, Failed: failed}}
	}
	tests := map[string]struct {
		res  *operation.ApplyResult
		want int
	}{
		"invalid runbook":            {&operation.ApplyResult{Outcome: operation.Failed, Err: errors.New("x")}, 1},
		"not confirmed":              {&operation.ApplyResult{Outcome: operation.Cancelled}, 1},
		"nothing to resume":          {&operation.ApplyResult{Outcome: operation.NothingToResume}, 0},
		"finished":                   {ran(journal.StatusFinished), 0},
		"finished with a failure":    {ran(journal.StatusFinished, "step.a"), 1},
		"failed (on_failure abort)":  {ran(journal.StatusFailed, "step.a"), 1},
		"paused":                     {ran(journal.StatusPaused), 3},
		"interrupted":                {ran(journal.StatusInterrupted), 130},
		"a status nrun never writes": {ran("weird"), 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := applyExitCode(tc.res); got != tc.want {
				t.Errorf("exit %d, want %d", got, tc.want)
			}
		})
	}
}
