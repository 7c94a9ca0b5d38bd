package operation

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/backend"
	"github.com/nrun-dev/nrun/executor"
	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

// BackendChoice is the backend an operation uses: -backend (Kind, with
// Path from the runbook's block when it names the same kind), else the
// runbook's backend block, else local.
type BackendChoice struct {
	Kind string
	Path string
}

// RunbookName names a runbook for its default backend path: the name of
// its runbook block, else its file (or directory) name.
func RunbookName(rb *lang.Runbook, path string) string {
	if rb != nil && rb.Meta != nil && rb.Meta.Name != "" {
		return rb.Meta.Name
	}
	base := filepath.Base(strings.TrimSuffix(filepath.Clean(path), string(filepath.Separator)))
	return strings.TrimSuffix(base, lang.FileSuffix)
}

// BackendConfig resolves the backend of a runbook.
func BackendConfig(rb *lang.Runbook, runbookPath string, choice BackendChoice, inputs map[string]cty.Value, stateDir string, getenv func(string) string) (backend.Config, error) {
	cfg := backend.Config{Kind: backend.Local, StateDir: stateDir, Getenv: getenv}
	if rb != nil && rb.Backend != nil {
		cfg.Kind, cfg.Path = backend.Kind(rb.Backend.Type), rb.Backend.Path
	}
	if choice.Kind != "" {
		k, err := backend.ParseKind(choice.Kind)
		if err != nil {
			return cfg, err
		}
		if k != cfg.Kind {
			cfg.Path = ""
		}
		cfg.Kind = k
	}
	if choice.Path != "" {
		cfg.Path = choice.Path
	}
	if cfg.Path == "" {
		cfg.Path = backend.DefaultPath(RunbookName(rb, runbookPath))
	}
	if cfg.Kind != backend.Local {
		if err := cfg.FromEnv(getenv); err != nil {
			return cfg, err
		}
	}
	if rb != nil {
		if cc, d := planner.ClusterConfig(rb, inputs); !d.HasErrors() {
			cfg.Cluster = cc
		}
	}
	return cfg, nil
}

// BackendDisrupted reports whether the runbook's steps act on the cluster
// that holds the backend (the catalog's Cluster of each action): Nomad
// variables live in the Nomad servers' Raft, Consul KV in Consul's.
func BackendDisrupted(rb *lang.Runbook, k backend.Kind) bool {
	var want lang.Cluster
	switch k {
	case backend.Nomad:
		want = lang.ClusterNomadServers
	case backend.Consul:
		want = lang.ClusterConsulServers
	default:
		return false
	}
	var walk func([]*lang.Step) bool
	walk = func(steps []*lang.Step) bool {
		for _, s := range steps {
			if s.Action != nil {
				if spec := lang.ActionSpecs[s.Action.Type]; spec != nil && spec.Cluster == want {
					return true
				}
			}
			if walk(s.Steps) {
				return true
			}
		}
		return false
	}
	return walk(rb.Steps)
}

// DisruptedWarning is the sentence the plan and apply show when the
// backend is the cluster the runbook changes.
func DisruptedWarning(be backend.Backend) string {
	other := "consul"
	if be.Kind() == backend.Consul {
		other = "nomad"
	}
	return fmt.Sprintf("the backend (%s) is in the cluster this runbook changes: while its servers restart or elect a leader, each action waits for the backend, and a lost quorum there stops the run. State kept in the other cluster (-backend=%s) survives even that.", be.Where(), other)
}

// prepareRemoteRun settles, before the executor starts, which run of the
// backend an apply continues (resume) or that a new run may start: the
// backend's runs are the team's, whatever this state directory holds.
// With resume it makes sure the state directory holds the run's journal
// (fetched from the backend, verified) and returns its ID.
func prepareRemoteRun(ctx context.Context, be backend.Backend, stateDir string, resume bool, runID string) (string, error) {
	runs, err := be.Runs(ctx)
	if err != nil {
		return "", fmt.Errorf("read the runs in %s: %w", be.Where(), err)
	}
	for _, r := range runs {
		if r.Err != nil && r.Abandoned == nil && (runID == "" || r.ID == runID) {
			return "", fmt.Errorf("run %s in %s cannot be read: %v. nrun does not know what it did, so it neither resumes nor starts a run over it. Inspect it (nrun status -backend=%s -run %s) and the cluster; once you have settled by hand what the run did, give it up with: nrun apply -abandon %s -backend=%s (this records who abandoned it and when in the backend; it then blocks nothing)", r.ID, be.Where(), r.Err, be.Kind(), r.ID, r.ID, be.Kind())
		}
	}
	// The newest run (of runID): an abandoned one is as final as a
	// finished one, and an older unfinished run is stale behind it.
	var last *backend.Run
	for i := len(runs) - 1; i >= 0; i-- {
		r := &runs[i]
		if (r.Abandoned != nil || r.State != nil && r.State.Header.RunID != "") && (runID == "" || r.ID == runID) {
			last = r
			break
		}
	}
	if !resume {
		if last != nil && last.Abandoned == nil && last.State.Unfinished() {
			var doubt []string
			for _, a := range last.State.Order {
				switch last.State.Instances[a].Phase {
				case journal.PhaseIntent, journal.PhaseActionDone:
					doubt = append(doubt, a)
				}
			}
			if len(doubt) > 0 {
				return "", fmt.Errorf("run %s in %s stopped in the middle of %s; continue it with nrun apply -resume -backend=%s (which re-checks what happened) before starting a new run. If you have settled by hand what it did and will not resume it, give it up with: nrun apply -abandon %s -backend=%s", last.ID, be.Where(), strings.Join(doubt, ", "), be.Kind(), last.ID, be.Kind())
			}
		}
		return "", nil
	}
	if last == nil {
		if runID != "" {
			return "", fmt.Errorf("there is no run %s in %s", runID, be.Where())
		}
		return "", fmt.Errorf("there is no run in %s to resume", be.Where())
	}
	if a := last.Abandoned; a != nil {
		return "", fmt.Errorf("run %s was abandoned by %s at %s: %w", last.ID, a.By, a.Time.Format(time.RFC3339), executor.ErrAbandoned)
	}
	if !last.State.Unfinished() {
		return "", fmt.Errorf("run %s: %w", last.ID, executor.ErrFinished)
	}
	data, err := be.Fetch(ctx, last.ID)
	if err != nil {
		return "", err
	}
	dir := executor.RunDir(stateDir, last.ID)
	path := filepath.Join(dir, journal.FileName)
	local, lerr := os.ReadFile(path)
	switch {
	case errors.Is(lerr, os.ErrNotExist):
	case lerr != nil:
		return "", lerr
	case len(local) >= len(data) && string(local[:len(data)]) == string(data):
		return last.ID, nil // the backend's copy is behind: the mirror catches up
	case len(local) < len(data) && string(data[:len(local)]) == string(local):
	default:
		return "", fmt.Errorf("the copy of run %s in %s and the journal %s differ: two machines wrote this run. Inspect both; resume from an empty state directory (-state-dir) to continue from %s", last.ID, be.Where(), path, be.Where())
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	tmp := path + ".fetched"
	if err := journal.WriteFileSynced(tmp, data); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	for _, d := range []string{dir, filepath.Dir(dir), stateDir} {
		if err := journal.SyncDir(d); err != nil {
			return "", err
		}
	}
	return last.ID, nil
}

// mirrorOpener adapts a backend's Mirror to the executor's.
func mirrorOpener(ctx context.Context, be backend.Backend, lock backend.Lock) func(string, []journal.Record) (executor.Mirror, error) {
	return func(runID string, recs []journal.Record) (executor.Mirror, error) {
		m, err := be.Mirror(ctx, runID, recs, lock)
		if err != nil {
			return nil, err
		}
		if m.Ahead() != nil {
			return nil, fmt.Errorf("the copy of run %s in %s holds records this state directory lacks: another machine continued it. Resume again (the copy is fetched first)", runID, be.Where())
		}
		return m, nil
	}
}
