package executor

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
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
// 20261122T071500Z-1a2b3c. The first four hex digits of the suffix are
// the fraction of the second in 1/65536 s, so two runs started within
// one second still sort in the order they started (which run is the
// newest decides what a resume continues); the last two are random, so
// runs that two machines start at the same moment differ.
func NewRunID(now time.Time) string {
	now = now.UTC()
	var b [3]byte
	rand.Read(b[2:])
	frac := uint16(uint64(now.Nanosecond()) << 16 / uint64(time.Second))
	b[0], b[1] = byte(frac>>8), byte(frac)
	return now.Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:])
}

// RunDir is the directory of one run.
func RunDir(stateDir, runID string) string { return filepath.Join(stateDir, RunsDir, runID) }

// RunSummary is a run as listed from the state directory.
type RunSummary struct {
	ID  string
	Dir string
	// State is the replayed journal, nil when Err is set.
	State *journal.State
	// Err says why the journal cannot be read completely (damage, a
	// format this nrun does not read, a missing file). Such a run is never
	// skipped: see Damaged.
	Err error
	// Header is the run header when the journal's first line is a good
	// one, even if Err is set: it says which runbook a damaged run was of.
	Header *journal.Record
	// Torn is the length of a torn final write the journal ends in (the
	// next apply -resume keeps it in a side file and continues).
	Torn int
	// Abandoned is set when an operator gave the run up (nrun apply
	// -abandon); it then blocks nothing.
	Abandoned *Abandonment
}

// NeverStarted reports whether the run's process stopped before it wrote
// the run header, which it writes before anything else: it did nothing.
func (r RunSummary) NeverStarted() bool {
	return r.Err == nil && r.State != nil && r.State.Header.RunID == ""
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
		c, err := journal.ReadContents(filepath.Join(dir, journal.FileName))
		switch {
		case errors.Is(err, os.ErrNotExist) && emptyDir(dir):
			// Created, then the process stopped before it created the
			// journal: nothing ran. (A journal missing from a directory
			// that holds anything else stays an error.)
			c, err = journal.Contents{}, nil
		case err == nil && len(c.Records) == 0 && fileSize(filepath.Join(dir, LogFile)) > 0:
			// An empty journal is a process that stopped before its
			// header, unless the log shows the header was written.
			err = errors.New("the journal holds no record, but run.log shows the run started: the journal was truncated or replaced")
		}
		rs.Header = c.Header
		if err != nil {
			rs.Err = err
		} else {
			rs.State, rs.Torn = journal.Replay(c.Records), c.Torn
		}
		ab, err := readAbandonment(dir)
		if err != nil && rs.Err == nil {
			rs.Err = err
		}
		rs.Abandoned = ab
		if ab == nil && rs.State != nil && rs.State.Abandoned != nil {
			// The journal says so; the marker was not written (a crash).
			a := rs.State.Abandoned
			rs.Abandoned = &Abandonment{RunID: rs.ID, By: a.User + "@" + a.Host, Time: a.Time}
		}
		out = append(out, rs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func emptyDir(dir string) bool {
	es, err := os.ReadDir(dir)
	return err == nil && len(es) == 0
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// ErrFinished is returned by Run on resume when the newest run of the
// runbook has already finished: there is nothing to continue.
var ErrFinished = errors.New("the last run of this runbook finished; there is nothing to resume")

// ErrAbandoned is returned on resume when the newest run of the runbook
// was abandoned: it is as final as a finished one.
var ErrAbandoned = errors.New("there is nothing to resume; start a new run with nrun apply")

// DamagedError names the runs of a state directory that cannot be read
// completely and that nobody has abandoned. Until each is repaired or
// abandoned, nrun neither resumes nor starts a run of a runbook they may
// belong to: what they did is unknown.
type DamagedError struct {
	StateDir string
	Runs     []RunSummary
}

func (e *DamagedError) Error() string {
	var b strings.Builder
	for i, r := range e.Runs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "run %s cannot be read: %v.", r.ID, r.Err)
		if r.Header != nil {
			fmt.Fprintf(&b, " It is a run of %s.", r.Header.Runbook)
		} else {
			fmt.Fprintf(&b, " Its header cannot be read either, so nrun cannot tell which runbook it belongs to: it blocks every runbook of %s.", e.StateDir)
		}
	}
	id := e.Runs[0].ID
	fmt.Fprintf(&b, "\nnrun does not know what %s did, so it neither resumes nor starts a run over it. "+
		"Inspect %s (journal.jsonl, run.log) and the cluster. "+
		"If the damage can be repaired, restore the journal and resume (nrun apply -resume -run ID, with -assume-done ADDR or -redo ADDR for an action in doubt). "+
		"Otherwise, once you have settled what the run did by hand, give it up with: nrun apply -abandon %s -state-dir %s "+
		"(this records who abandoned it and when; it then blocks nothing). "+
		"To resume another run meanwhile, name it with -resume -run ID.",
		plural(len(e.Runs), "this run", "these runs"), e.Runs[0].Dir, id, e.StateDir)
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Damaged returns the runs that cannot be read completely, are not
// abandoned and may be runs of runbook: their header names it, or it
// cannot be read (then the run may be of any runbook).
func Damaged(runs []RunSummary, runbook string) []RunSummary {
	var out []RunSummary
	for _, r := range runs {
		if r.Err == nil || r.Abandoned != nil {
			continue
		}
		if r.Header != nil && runbook != "" && r.Header.Runbook != runbook {
			continue
		}
		out = append(out, r)
	}
	return out
}

// LastUnfinished returns the newest run of the runbook (by its name in the
// run header; "" matches any) that did not finish, or ok=false. It fails
// closed: a run that may be of the runbook and cannot be read completely
// is a *DamagedError, whatever else the state directory holds.
func LastUnfinished(stateDir, runbook string) (RunSummary, bool, error) {
	runs, err := ListRuns(stateDir)
	if err != nil {
		return RunSummary{}, false, err
	}
	if d := Damaged(runs, runbook); len(d) > 0 {
		return d[0], false, &DamagedError{StateDir: stateDir, Runs: d}
	}
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		if r.Err != nil {
			continue // abandoned, or another runbook's (Damaged)
		}
		if r.NeverStarted() {
			continue
		}
		if runbook != "" && r.State.Header.Runbook != runbook {
			continue
		}
		if r.Abandoned != nil {
			// Abandoned is as final as finished: an older unfinished run
			// is stale behind it.
			return r, false, fmt.Errorf("run %s was abandoned by %s at %s: %w", r.ID, r.Abandoned.By, r.Abandoned.Time.Format(time.RFC3339), ErrAbandoned)
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

// ResumeTarget returns the ID of the run that a resume of runbook (by its
// name in the run header) continues: runID when given, else the newest
// unfinished run. It fails closed: a finished run wraps ErrFinished, an
// abandoned one ErrAbandoned, and a run that may be the runbook's and
// cannot be read is a *DamagedError. It only reads the state directory,
// so a resume can settle this before it reads the cluster; the executor
// asks again under the lock.
func ResumeTarget(stateDir, runbook, runID string) (string, error) {
	if runID == "" {
		rs, ok, err := LastUnfinished(stateDir, runbook)
		if errors.Is(err, ErrFinished) {
			return "", fmt.Errorf("run %s: %w", rs.ID, err)
		}
		if err != nil {
			return "", err
		}
		if !ok {
			return "", fmt.Errorf("there is no unfinished run of %s in %s to resume", runbook, stateDir)
		}
		runID = rs.ID
	}
	dir := RunDir(stateDir, runID)
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("run %s: %w", runID, err)
	}
	if a, err := readAbandonment(dir); err != nil {
		return "", err
	} else if a != nil {
		return "", fmt.Errorf("run %s was abandoned by %s at %s; it cannot be resumed (%w)", runID, a.By, a.Time.Format(time.RFC3339), ErrAbandoned)
	}
	return runID, nil
}

// AbandonFile is the marker a run directory holds once an operator gave
// the run up. It is a file of its own because the journal of a damaged run
// cannot be appended to.
const AbandonFile = "abandoned.json"

// Abandonment records who gave a run up, when, and what was wrong.
type Abandonment struct {
	RunID string    `json:"run_id"`
	By    string    `json:"by"` // user@host
	Time  time.Time `json:"time"`
	// Reason is why the run could not be resumed ("" when its journal was
	// readable).
	Reason string `json:"reason,omitempty"`
}

func readAbandonment(dir string) (*Abandonment, error) {
	data, err := os.ReadFile(filepath.Join(dir, AbandonFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var a Abandonment
	if err := json.Unmarshal(data, &a); err != nil || a.By == "" {
		return nil, fmt.Errorf("%s is not an abandon record nrun wrote (%v)", filepath.Join(dir, AbandonFile), err)
	}
	return &a, nil
}

// Abandon gives up run runID of stateDir for good: an operator has
// settled by hand what it did. It writes the abandoned.json marker
// (fsynced) and, when the journal is readable, appends an abandoned
// record to it. The caller holds the state lock. The run no longer blocks
// new runs and can no longer be resumed.
func Abandon(stateDir, runID, user, host string, now time.Time) (*Abandonment, error) {
	dir := RunDir(stateDir, runID)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || strings.ContainsAny(runID, "/\\") || runID == "." || runID == ".." {
		return nil, fmt.Errorf("there is no run %s in %s", runID, stateDir)
	}
	if a, err := readAbandonment(dir); err != nil {
		return nil, err
	} else if a != nil {
		return a, fmt.Errorf("run %s was already abandoned by %s at %s", runID, a.By, a.Time.Format(time.RFC3339))
	}
	a := &Abandonment{RunID: runID, By: user + "@" + host, Time: now.UTC()}
	jpath := filepath.Join(dir, journal.FileName)
	if _, err := journal.Read(jpath); err != nil {
		a.Reason = err.Error()
	} else {
		j, err := journal.Open(jpath, nil)
		if err != nil {
			return nil, err
		}
		err = j.Append(journal.Record{Kind: journal.KindAbandoned, User: user, Host: host, Detail: "nrun apply -abandon"})
		if cerr := j.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	data, _ := json.MarshalIndent(a, "", "  ")
	tmp := filepath.Join(dir, AbandonFile+".tmp")
	if err := journal.WriteFileSynced(tmp, append(data, '\n')); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(dir, AbandonFile)); err != nil {
		return nil, err
	}
	if err := journal.SyncDir(dir); err != nil {
		return nil, err
	}
	return a, nil
}

// createRunDir makes a new run's directory and fsyncs the directories
// that gained an entry (runs/, the state directory), so a run whose
// journal survived a power cut is also found after it.
func createRunDir(stateDir, runID string) (string, error) {
	runs := filepath.Join(stateDir, RunsDir)
	if err := os.MkdirAll(runs, 0o700); err != nil {
		return "", err
	}
	dir := RunDir(stateDir, runID)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", err
	}
	for _, d := range []string{runs, stateDir} {
		if err := journal.SyncDir(d); err != nil {
			return "", err
		}
	}
	return dir, nil
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
