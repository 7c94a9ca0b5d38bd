package executor

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nrun-dev/nrun/executor/journal"
)

// RunsDir is the directory of runs inside a state directory.
const RunsDir = "runs"

// LogFile is the audit log's name inside a run directory.
const LogFile = "run.log"

// StateDirFor returns the default state directory of a runbook path: .nrun
// next to the runbook file, or inside the runbook directory.
func StateDirFor(runbookPath string) string {
	if fi, err := os.Stat(runbookPath); err == nil && fi.IsDir() {
		return filepath.Join(runbookPath, ".nrun")
	}
	return filepath.Join(filepath.Dir(runbookPath), ".nrun")
}

// NewRunID returns a run ID that sorts by start time:
// 20261122T071500Z-1a2b3c.
func NewRunID(now time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// RunDir is the directory of one run.
func RunDir(stateDir, runID string) string { return filepath.Join(stateDir, RunsDir, runID) }

// RunSummary is a run as listed from the state directory.
type RunSummary struct {
	ID    string
	Dir   string
	State *journal.State
	Err   error
}

// ListRuns returns every run in stateDir, oldest first.
func ListRuns(stateDir string) ([]RunSummary, error) {
	entries, err := os.ReadDir(filepath.Join(stateDir, RunsDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []RunSummary
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(stateDir, RunsDir, e.Name())
		rs := RunSummary{ID: e.Name(), Dir: dir}
		recs, err := journal.Read(filepath.Join(dir, journal.FileName))
		if err != nil {
			rs.Err = err
		} else {
			rs.State = journal.Replay(recs)
		}
		out = append(out, rs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ErrFinished is returned by Run on resume when the newest run of the
// runbook has already finished: there is nothing to continue.
var ErrFinished = errors.New("the last run of this runbook finished; there is nothing to resume")

// LastUnfinished returns the newest run of the runbook (by its name in the
// run header; "" matches any) that did not finish, or ok=false.
func LastUnfinished(stateDir, runbook string) (RunSummary, bool, error) {
	runs, err := ListRuns(stateDir)
	if err != nil {
		return RunSummary{}, false, err
	}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.State == nil || r.State.Header.RunID == "" {
			continue
		}
		if runbook != "" && r.State.Header.Runbook != runbook {
			continue
		}
		if r.State.Unfinished() {
			return r, true, nil
		}
		// A finished run is newer than any unfinished older one: resuming
		// an older run past a newer finished one would replay stale work.
		return r, false, ErrFinished
	}
	return RunSummary{}, false, nil
}

// auditLog is the run's human-readable log: every event and all command
// output, redacted, one timestamped line each.
type auditLog struct {
	mu     sync.Mutex
	f      *os.File
	redact *Redactor
}

func openAuditLog(dir string, r *Redactor) (*auditLog, error) {
	f, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	return &auditLog{f: f, redact: r}, nil
}

func (l *auditLog) Printf(format string, args ...any) {
	if l == nil {
		return
	}
	msg := l.redact.String(fmt.Sprintf(format, args...))
	ts := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		b.WriteString(ts)
		b.WriteByte(' ')
		b.WriteString(line)
		b.WriteByte('\n')
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f.WriteString(b.String())
}

// Line writes one line of command output: prefix, then head, then the
// rest of the line from more (when not nil). The text is already redacted
// (see Redactor.Prefix: a secret may span the pieces of a long line, so
// it cannot be redacted here). The line is written whole under the lock,
// so other log lines never split it.
func (l *auditLog) Line(prefix, head string, more io.Reader) {
	if l == nil {
		return
	}
	ts := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	l.mu.Lock()
	defer l.mu.Unlock()
	if more == nil {
		l.f.WriteString(ts + " " + prefix + head + "\n")
		return
	}
	l.f.WriteString(ts + " " + prefix + head)
	io.Copy(l.f, more)
	l.f.WriteString("\n")
}

func (l *auditLog) Close() error {
	if l == nil {
		return nil
	}
	l.f.Sync()
	return l.f.Close()
}
