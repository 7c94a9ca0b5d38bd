// Package journal is the append-only record of one nrun apply run.
//
// Input: records the executor appends as it works (the run header, and per
// instance: intent, action done, each wait done, finished or failed).
// Output: a file, journal.jsonl in the run directory, and the replay of it
// (Read, State) that resume and `nrun status` consume.
//
// Format (FormatVersion 1): one record per line, "CRC32C-hex SP JSON LF",
// where the checksum covers the JSON bytes. The first record is the run
// header; it carries "format": 1, and a journal with another format is
// refused. Every record carries its seq (1, 2, 3, ... with no gap) and
// "prev", the hex SHA-256 of the whole previous line, newline included
// (empty for the header), so the lines form a chain from the header: a
// deleted, duplicated, reordered or altered line breaks it.
//
// A line must be byte for byte what Encode writes for its record
// (lower-case hex, nrun's JSON), not merely parse to one.
//
// A journal proves its own integrity or is refused. Only a final segment
// without its newline is a torn write (a crash or a full disk cut the last
// write short); Open moves it into a side file (journal.jsonl.torn-SEQ) and
// truncates it, and says so. A complete line that fails its checksum or the
// chain, a gap in seq, and a history the executor cannot have written
// (Check) are damage: Read and Open refuse the file, and nrun never guesses
// past it.
//
// Append writes and fsyncs before it returns, so a record the executor has
// seen written survives a power cut. After a write or fsync fails, the
// journal cuts the file back to the last whole record and refuses every
// later Append with the first error: nothing is ever glued after garbage,
// and the next Open continues from the last good record.
//
// Use it only through the executor and the status command; it knows
// nothing about Nomad. Only free text (Detail, Error) goes through the
// Redactor the caller gives; identifiers (run ID, runbook path, addresses,
// user, host, hashes) are written as they are, because resume matches them.
package journal

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// FileName is the journal's name inside a run directory.
const FileName = "journal.jsonl"

// FormatVersion is the on-disk format this package writes and reads. It is
// recorded in the run header; bump it when a record's meaning changes.
const FormatVersion = 1

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
	KindAbandoned  Kind = "abandoned"   // the operator gave the run up (User, Host, Time say who and when); nothing follows
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
	Seq uint64 `json:"seq"`
	// Prev is the hex SHA-256 of the previous line (empty for the first).
	Prev string    `json:"prev,omitempty"`
	Time time.Time `json:"time"`
	Kind Kind      `json:"kind"`
	// Format is the journal's FormatVersion (run header only).
	Format int `json:"format,omitempty"`
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

// Encode renders one record as a journal line, newline included. The
// caller sets Seq and Prev (Append does).
func Encode(r Record) ([]byte, error) {
	validUTF8(&r)
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

// validUTF8 replaces invalid UTF-8 (exec output in Detail) with U+FFFD
// itself. encoding/json would write it as the escape \ufffd, which reads
// back as U+FFFD and re-encodes as its raw bytes: the line would not be
// canonical, and Scan would refuse the journal.
func validUTF8(r *Record) {
	for _, p := range []*string{&r.Prev, &r.Addr, &r.Action, &r.Wait, &r.Detail, &r.Error, &r.Status, &r.Digest,
		&r.RunID, &r.Runbook, &r.SourceHash, &r.PlanHash, &r.User, &r.Host, (*string)(&r.Kind)} {
		if !utf8.ValidString(*p) {
			*p = strings.ToValidUTF8(*p, "\uFFFD")
		}
	}
	copied := false
	for i, a := range r.Instances {
		if !utf8.ValidString(a) {
			if !copied {
				// The caller's slice (the plan's list) stays as it is.
				r.Instances, copied = append([]string(nil), r.Instances...), true
			}
			r.Instances[i] = strings.ToValidUTF8(a, "\uFFFD")
		}
	}
}

// LineHash is what the next record's Prev must be: the hex SHA-256 of a
// whole line, newline included.
func LineHash(line []byte) string {
	h := sha256.Sum256(line)
	return hex.EncodeToString(h[:])
}

func crc32Bytes(c uint32) []byte {
	return []byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)}
}

// decodeLine parses one line without its newline.
func decodeLine(line []byte) (Record, error) {
	var r Record
	sum, js, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(sum) != 8 {
		return r, errors.New("the line has no checksum")
	}
	want, err := hex.DecodeString(string(sum))
	if err != nil {
		return r, errors.New("the checksum field is not hex")
	}
	if !bytes.Equal(want, crc32Bytes(crc32.Checksum(js, crcTable))) {
		return r, errors.New("the line fails its checksum")
	}
	if err := json.Unmarshal(js, &r); err != nil {
		return r, fmt.Errorf("the record is not valid JSON: %v", err)
	}
	return r, nil
}

// Scanned is a journal as read: its whole, verified records and what
// followed them.
type Scanned struct {
	// Records are the verified records, in order. On a damaged journal
	// they are the ones before the damage (a header there names the run).
	Records []Record
	// Good is the byte length of the verified lines.
	Good int64
	// Torn is a final segment without its newline: a write a crash or a
	// full disk cut short. Nothing that follows a newline is ever torn.
	Torn []byte
	// Legacy is set for a journal of an nrun before FormatVersion 1 (no
	// format, no chain): its lines are checked as that nrun did (checksum,
	// seq increasing) and it is never appended to.
	Legacy bool
	// last is the hash of the last verified line (the next record's Prev).
	last string
}

// Scan reads and verifies a journal's lines: the checksum of each, the
// chain of Prev hashes, and seq 1, 2, 3, ... A complete line that fails
// any of these is damage, reported as an error; only the final bytes
// after the last newline may be a torn write (Scanned.Torn). The history
// itself is Check's business.
func Scan(rd io.Reader) (Scanned, error) {
	var sc Scanned
	br := bufio.NewReaderSize(rd, 1<<16)
	for lineNo := 1; ; lineNo++ {
		line, rerr := br.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return sc, rerr
		}
		if len(line) > 0 && line[len(line)-1] != '\n' {
			sc.Torn = line
			return sc, nil
		}
		if len(line) > 0 {
			rec, err := decodeLine(line[:len(line)-1])
			if err == nil && lineNo == 1 && rec.Kind == KindRun && rec.Format == 0 && rec.Prev == "" {
				sc.Legacy = true
			}
			switch {
			case err != nil:
			case sc.Legacy:
				if n := len(sc.Records); n > 0 && rec.Seq <= sc.Records[n-1].Seq {
					err = fmt.Errorf("it has seq %d after seq %d: records are out of order", rec.Seq, sc.Records[n-1].Seq)
				}
			case !canonical(rec, line):
				err = errors.New("the line is not as nrun writes it (its bytes differ from its record's encoding)")
			case rec.Prev != sc.last:
				err = errors.New("the chain is broken (its prev is not the hash of the line before it): a line before it was removed, altered or put in its place")
			case rec.Seq != uint64(lineNo):
				err = fmt.Errorf("it has seq %d where seq %d was due: a record is missing, repeated or out of order", rec.Seq, lineNo)
			}
			if err != nil {
				return sc, &DamageError{Line: lineNo, Offset: sc.Good, Why: err.Error()}
			}
			sc.Records = append(sc.Records, rec)
			sc.Good += int64(len(line))
			sc.last = LineHash(line)
		}
		if rerr == io.EOF {
			return sc, nil
		}
	}
}

// canonical reports whether line is exactly what Encode writes for rec.
// The checksum and JSON parsers accept more than nrun writes (upper-case
// hex, keys in any case or order, unknown keys); a line nrun did not write
// byte for byte is not one to act on.
func canonical(rec Record, line []byte) bool {
	enc, err := Encode(rec)
	return err == nil && bytes.Equal(enc, line)
}

// DamageError says where a journal stops proving itself.
type DamageError struct {
	Line   int   // 1-based; 0 when the history as a whole is impossible
	Offset int64 // byte offset of the line
	Why    string
}

func (e *DamageError) Error() string {
	if e.Line == 0 {
		return "the journal is damaged: " + e.Why + "; nrun did not write this history, so it will not act on it"
	}
	return fmt.Sprintf("the journal is damaged at line %d (byte %d): %s; a complete line can only be damage, not a torn write, so nrun will not act on the journal", e.Line, e.Offset, e.Why)
}

// Journal is an open journal file, safe for concurrent Append.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	path string
	seq  uint64
	off  int64  // end of the last whole record written
	last string // hash of the last line
	recs []Record
	torn string // side file holding the torn tail found at Open, "" if none
	err  error  // the first failed write: the journal takes no more
	now  func() time.Time
	// Redact is applied to the free-text fields before a record is written.
	redact func(string) string
	// fault, when set, is asked before each write (fault injection).
	fault func(Record) error
}

// SetFault makes Append fail with f's error whenever f returns one for a
// record about to be written. It exists to test how callers handle a
// journal that cannot be written (disk full, I/O error); like a real
// failure, the first one puts the journal in its failed state.
func (j *Journal) SetFault(f func(Record) error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.fault = f
}

// Open opens (creating if needed) the journal at path, verifies and
// replays it, and moves a torn tail into a side file (TornFile) before
// truncating it, so the run continues from the last good record. A
// journal that does not prove its integrity is refused.
func Open(path string, redact func(string) string) (*Journal, error) {
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Journal, error) {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sc, err := Scan(f)
	if err == nil {
		err = Check(sc.Records)
	}
	if err != nil {
		return fail(err)
	}
	j := &Journal{f: f, path: path, recs: sc.Records, now: time.Now, redact: redact, off: sc.Good, last: sc.last}
	if n := len(sc.Records); n > 0 {
		j.seq = sc.Records[n-1].Seq
	}
	if len(sc.Torn) > 0 {
		side, err := keepTorn(path, j.seq+1, sc.Torn)
		if err != nil {
			return fail(fmt.Errorf("keep the torn tail before truncating it: %w", err))
		}
		j.torn = side
		if err := f.Truncate(sc.Good); err != nil {
			return fail(fmt.Errorf("truncate the torn tail: %w", err))
		}
		if err := f.Sync(); err != nil {
			return fail(err)
		}
	}
	if _, err := f.Seek(sc.Good, io.SeekStart); err != nil {
		return fail(err)
	}
	if j.redact == nil {
		j.redact = func(s string) string { return s }
	}
	if os.IsNotExist(statErr) || j.torn != "" {
		// A new file's directory entry (or the side file's) must survive
		// a power cut too.
		if err := SyncDir(filepath.Dir(path)); err != nil {
			return fail(err)
		}
	}
	return j, nil
}

// keepTorn writes a torn tail next to the journal, never over an older one.
func keepTorn(path string, seq uint64, torn []byte) (string, error) {
	for i := 0; ; i++ {
		side := fmt.Sprintf("%s.torn-%d", path, seq)
		if i > 0 {
			side = fmt.Sprintf("%s.torn-%d.%d", path, seq, i)
		}
		f, err := os.OpenFile(side, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if os.IsExist(err) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(torn)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return side, err
	}
}

// SyncDir fsyncs a directory, so the entries created in it survive a
// power cut.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// WriteFileSynced writes data to path (created 0600 or truncated) and
// fsyncs it before closing, so a rename over another file that follows
// never exposes an empty or partial file after a power cut.
func WriteFileSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Contents is a journal read without opening it for writing.
type Contents struct {
	Records []Record
	// Torn is the length of a torn final write, kept as it is (the next
	// Open moves it into a side file).
	Torn int
	// Legacy says an nrun before FormatVersion 1 wrote the journal (it
	// is read only when its run finished).
	Legacy bool
	// Header is the run header when the first line is one, even if the
	// journal is damaged after it: it says which run and runbook the
	// damage belongs to.
	Header *Record
}

// ReadContents verifies and replays a journal without changing it
// (status, and finding the run to resume). The error says why a journal
// is refused; Contents.Header is set whenever the first line is a good
// header.
func ReadContents(path string) (Contents, error) {
	f, err := os.Open(path)
	if err != nil {
		return Contents{}, err
	}
	defer f.Close()
	return readContents(f)
}

// ReadBytes verifies and replays a journal held in memory (a copy fetched
// from a backend) exactly as ReadContents does a file, except that a
// torn final write is damage: a copy is written whole or not at all.
func ReadBytes(data []byte) (Contents, error) {
	c, err := readContents(bytes.NewReader(data))
	if err == nil && c.Torn > 0 {
		return c, &DamageError{Why: fmt.Sprintf("it ends in %d bytes that are not a whole line; a copy is written whole, so it was cut or altered", c.Torn)}
	}
	return c, err
}

// Since returns the records after seq, in order.
func (j *Journal) Since(seq uint64) []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Record
	for i := len(j.recs) - 1; i >= 0 && j.recs[i].Seq > seq; i-- {
		out = append(out, j.recs[i])
	}
	for a, b := 0, len(out)-1; a < b; a, b = a+1, b-1 {
		out[a], out[b] = out[b], out[a]
	}
	return out
}

func readContents(rd io.Reader) (Contents, error) {
	var c Contents
	sc, err := Scan(rd)
	if len(sc.Records) > 0 && sc.Records[0].Kind == KindRun {
		h := sc.Records[0]
		c.Header = &h
	}
	if err == nil && sc.Legacy {
		// An older nrun's journal: shown when its run finished (then it
		// blocks nothing), refused when there is work to resume, which
		// only the nrun that wrote it may do.
		if err = checkLegacy(sc.Records); err == nil {
			if Replay(sc.Records).Unfinished() {
				return c, &FormatError{}
			}
			c.Records, c.Torn, c.Legacy = sc.Records, len(sc.Torn), true
			return c, nil
		}
	}
	if err == nil {
		err = Check(sc.Records)
	}
	if err != nil {
		return c, err
	}
	c.Records, c.Torn = sc.Records, len(sc.Torn)
	return c, nil
}

// checkLegacy is Check as nrun did it before FormatVersion 1.
func checkLegacy(recs []Record) error {
	for i, r := range recs {
		if i > 0 && r.Kind == KindRun {
			return &DamageError{Why: fmt.Sprintf("record %d (seq %d) is a second run header", i+1, r.Seq)}
		}
	}
	return nil
}

// Read replays a journal without opening it for writing. A torn tail is
// left alone.
func Read(path string) ([]Record, error) {
	c, err := ReadContents(path)
	return c.Records, err
}

// Path is the journal's file name.
func (j *Journal) Path() string { return j.path }

// TornFile is the side file that Open moved a torn tail into, "" if the
// journal ended cleanly. Callers report it: the torn write was a record
// the run never saw written.
func (j *Journal) TornFile() string { return j.torn }

// Records returns the records read at Open plus every record appended
// since, in order.
func (j *Journal) Records() []Record {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Record(nil), j.recs...)
}

// Err returns the first write that failed, nil while the journal works.
func (j *Journal) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// Append writes records in one write and fsyncs once. Seq, Prev and Time
// are set here. Once a write fails, this and every later Append return
// that first error and write nothing: a record after a short write would
// be glued to its garbage.
func (j *Journal) Append(rs ...Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return j.err
	}
	if j.f == nil {
		return errors.New("journal is closed")
	}
	var buf []byte
	now := j.now().UTC()
	out := make([]Record, 0, len(rs))
	seq, last := j.seq, j.last
	for _, r := range rs {
		seq++
		r.Seq, r.Time, r.Prev = seq, now, last
		if r.Kind == KindRun {
			r.Format = FormatVersion
		}
		r = redactRecord(r, j.redact)
		validUTF8(&r) // as Encode writes it, so Records matches the file
		if j.fault != nil {
			if err := j.fault(r); err != nil {
				return j.failed(fmt.Errorf("write journal %s: %w", j.path, err))
			}
		}
		line, err := Encode(r)
		if err != nil {
			return err
		}
		last = LineHash(line)
		buf = append(buf, line...)
		out = append(out, r)
	}
	if _, err := j.f.Write(buf); err != nil {
		return j.failed(fmt.Errorf("write journal %s: %w", j.path, err))
	}
	if err := j.f.Sync(); err != nil {
		return j.failed(fmt.Errorf("fsync journal %s: %w", j.path, err))
	}
	j.seq, j.last, j.off = seq, last, j.off+int64(len(buf))
	j.recs = append(j.recs, out...)
	return nil
}

// failed puts the journal in its failed state. It cuts the file back to
// the last record Append acknowledged, so what the file holds is what the
// caller was told; when even that fails (the disk is gone), the next Open
// finds the partial line as a torn tail and does the same.
func (j *Journal) failed(err error) error {
	j.err = err
	if terr := j.f.Truncate(j.off); terr == nil {
		j.f.Sync()
	}
	return err
}

// redactRecord redacts the free-text fields, the only ones computed from
// the run's inputs. Everything else is structure that resume matches
// byte for byte: a runbook path, address or host that happens to contain
// a secret's text (a -var pw=admin and a runbook under /home/admin/) would
// otherwise no longer match, and the run could not be found or an
// instance would run twice. Addresses cannot hold secrets: the language
// refuses for_each over a sensitive value.
func redactRecord(r Record, f func(string) string) Record {
	r.Detail, r.Error = f(r.Detail), f(r.Error)
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
