// Package journal is the append-only record of one nrun apply run.
//
// Input: records the executor appends as it works (the run header, and per
// instance: intent, action done, each wait done, finished or failed).
// Output: a file, journal.jsonl in the run directory, and the replay of it
// (Read, State) that resume and `nrun status` consume.
//
// Format: one record per line, "CRC32C-hex SP JSON LF", where the checksum
// covers the JSON bytes. A crash can tear only the last write, so Open
// keeps every record up to the first line that is incomplete or fails its
// checksum and truncates the rest; a bad line followed by good ones is not
// a torn tail but damage, and Open refuses the file rather than guess.
// Append writes and fsyncs before it returns, so a record the executor has
// seen written survives a power cut.
//
// Use it only through the executor and the status command; it knows
// nothing about Nomad. Records never carry secrets: callers pass every
// string through a Redactor first (the executor does).
package journal

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// FileName is the journal's name inside a run directory.
const FileName = "journal.jsonl"

// Kind says what a record records.
type Kind string

// Record kinds. The order of an instance's records is
// intent -> action_done -> wait_done* -> finished, or failed at any point.
const (
	KindRun        Kind = "run"         // header: the run and its plan
	KindResume     Kind = "resume"      // a later process took the run over
	KindIntent     Kind = "intent"      // the action is about to start
	KindActionDone Kind = "action_done" // the action completed
	KindWaitDone   Kind = "wait_done"   // one wait held
	KindFinished   Kind = "finished"    // the instance is done
	KindFailed     Kind = "failed"      // the instance failed (Error says why)
	KindSkipped    Kind = "skipped"     // not run: a dependency failed (on_failure = continue)
	KindPaused     Kind = "paused"      // waiting for the operator (approval, on_failure = pause)
	KindApproved   Kind = "approved"    // the operator approved (resume -approve)
	KindDecision   Kind = "decision"    // the operator resolved an in-doubt instance (assume-done, redo)
	KindProbe      Kind = "probe"       // resume re-checked an in-doubt action (Detail says what it saw)
	KindExecStart  Kind = "exec_start"  // an exec command started: its process group (PID) and Host
	KindEnd        Kind = "end"         // the process stopped (Status says how)
)

// Run statuses carried by KindEnd.
const (
	StatusFinished    = "finished"    // every instance finished (or was skipped by continue)
	StatusFailed      = "failed"      // an instance failed with on_failure = abort
	StatusPaused      = "paused"      // waiting for an approval or an operator decision
	StatusInterrupted = "interrupted" // Ctrl-C
)

// Record is one line of the journal. Fields not used by a kind stay empty.
type Record struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	// Addr is the instance address (addrs.Instance.String()).
	Addr string `json:"addr,omitempty"`
	// Action is the action type (intent), Wait the check name (wait_done).
	Action  string `json:"action,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	Wait    string `json:"wait,omitempty"`
	// WaitIndex is the wait's position in the step's waits.
	WaitIndex int    `json:"wait_index,omitempty"`
	Detail    string `json:"detail,omitempty"`
	Error     string `json:"error,omitempty"`
	Status    string `json:"status,omitempty"`
	// Digest is a content digest the action produced (snapshot sha256).
	Digest string `json:"digest,omitempty"`

	// Run header (KindRun, KindResume).
	RunID      string   `json:"run_id,omitempty"`
	Runbook    string   `json:"runbook,omitempty"`
	SourceHash string   `json:"source_hash,omitempty"`
	PlanHash   string   `json:"plan_hash,omitempty"`
	Instances  []string `json:"instances,omitempty"`
	User       string   `json:"user,omitempty"`
	Host       string   `json:"host,omitempty"`
	PID        int      `json:"pid,omitempty"`
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Encode renders one record as a journal line, newline included.
func Encode(r Record) ([]byte, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	line := make([]byte, 0, len(js)+10)
	line = hex.AppendEncode(line, crc32Bytes(crc32.Checksum(js, crcTable)))
	line = append(line, ' ')
	line = append(line, js...)
	return append(line, '\n'), nil
}

func crc32Bytes(c uint32) []byte {
	return []byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)}
}

// decodeLine parses one line without its newline.
func decodeLine(line []byte) (Record, error) {
	var r Record
	sum, js, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(sum) != 8 {
		return r, errors.New("no checksum")
	}
	want, err := hex.DecodeString(string(sum))
	if err != nil {
		return r, errors.New("bad checksum field")
	}
	if !bytes.Equal(want, crc32Bytes(crc32.Checksum(js, crcTable))) {
		return r, errors.New("checksum mismatch")
	}
	if err := json.Unmarshal(js, &r); err != nil {
		return r, fmt.Errorf("bad record: %v", err)
	}
	return r, nil
}

// Scan reads every good record of a journal. It returns the records, the
// byte length of the good prefix, and whether a torn tail followed it. A
// damaged line that is followed by a good one is an error: that is not a
// torn write and nothing after it can be trusted.
func Scan(rd io.Reader) (recs []Record, good int64, torn bool, err error) {
	br := bufio.NewReaderSize(rd, 1<<16)
	var off int64
	var badAt int64 = -1
	var badWhy error
	for lineNo := 1; ; lineNo++ {
		line, rerr := br.ReadBytes('\n')
		if len(line) > 0 {
			complete := line[len(line)-1] == '\n'
			body := bytes.TrimSuffix(line, []byte{'\n'})
			rec, derr := decodeLine(body)
			switch {
			case derr == nil && complete && badAt < 0:
				recs = append(recs, rec)
				off += int64(len(line))
			case derr == nil && complete && badAt >= 0:
				return nil, 0, false, fmt.Errorf("journal is damaged at byte %d (%v) and has good records after it; it was not a torn write, so nrun will not repair it", badAt, badWhy)
			case badAt < 0:
				badAt, badWhy = off, derr
				if derr == nil {
					badWhy = errors.New("last line has no newline")
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return nil, 0, false, rerr
		}
	}
	return recs, off, badAt >= 0, nil
}

// Journal is an open journal file, safe for concurrent Append.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	path string
	seq  uint64
	recs []Record
	now  func() time.Time
	// Redact is applied to every string field before a record is written.
	redact func(string) string
	// fault, when set, is asked before each write (fault injection).
	fault func(Record) error
}

// SetFault makes Append fail with f's error whenever f returns one for a
// record about to be written. It exists to test how callers handle a
// journal that cannot be written (disk full, I/O error).
func (j *Journal) SetFault(f func(Record) error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.fault = f
}

// Open opens (creating if needed) the journal at path, replays it and
// truncates a torn tail. The records read are available from Records.
func Open(path string, redact func(string) string) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	recs, good, torn, err := Scan(f)
	if err == nil {
		err = Check(recs)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if torn {
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, fmt.Errorf("truncate the torn tail of %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	j := &Journal{f: f, path: path, recs: recs, now: time.Now, redact: redact}
	if n := len(recs); n > 0 {
		j.seq = recs[n-1].Seq
	}
	if j.redact == nil {
		j.redact = func(s string) string { return s }
	}
	if dir, err := os.Open(dirOf(path)); err == nil {
		// A new file's directory entry must survive too.
		dir.Sync()
		dir.Close()
	}
	return j, nil
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i+1]
	}
	return "."
}

// Read replays a journal without opening it for writing (status). A torn
// tail is ignored, not truncated.
func Read(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, _, _, err := Scan(f)
	if err != nil {
		return nil, err
	}
	if err := Check(recs); err != nil {
		return nil, err
	}
	return recs, nil
}

// Path is the journal's file name.
func (j *Journal) Path() string { return j.path }

// Records returns the records read at Open plus every record appended
// since, in order.
func (j *Journal) Records() []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Record(nil), j.recs...)
}

// Append writes records in one write and fsyncs once. Seq and Time are set
// here.
func (j *Journal) Append(rs ...Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return errors.New("journal is closed")
	}
	var buf []byte
	now := j.now().UTC()
	out := make([]Record, 0, len(rs))
	for _, r := range rs {
		j.seq++
		r.Seq, r.Time = j.seq, now
		r = redactRecord(r, j.redact)
		if j.fault != nil {
			if err := j.fault(r); err != nil {
				j.seq -= uint64(len(out) + 1)
				return fmt.Errorf("write journal %s: %w", j.path, err)
			}
		}
		line, err := Encode(r)
		if err != nil {
			return err
		}
		buf = append(buf, line...)
		out = append(out, r)
	}
	if _, err := j.f.Write(buf); err != nil {
		return fmt.Errorf("write journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("fsync journal %s: %w", j.path, err)
	}
	j.recs = append(j.recs, out...)
	return nil
}

// redactRecord redacts the free-text fields. Addr and Instances are left
// alone: they are identifiers that resume matches against the plan, and a
// redacted address (step.a["<redacted>-host"]) would never match, so a
// finished instance would run again. Addresses cannot hold secrets: the
// language refuses for_each over a sensitive value.
func redactRecord(r Record, f func(string) string) Record {
	r.Detail, r.Error, r.Runbook = f(r.Detail), f(r.Error), f(r.Runbook)
	return r
}

// Close closes the file.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	return err
}
