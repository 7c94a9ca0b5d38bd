package planfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/nrun-dev/nrun/planner"
)

// Magic is the first line of every plan file.
const Magic = "nrun-plan"

// Version is the format version this nrun writes and reads.
const Version = 1

// Error says what is wrong with a plan file and what to do.
type Error struct {
	// Path is the file, "" when decoding bytes.
	Path string
	// Problem completes "the plan file PATH ...".
	Problem string
}

func (e *Error) Error() string {
	name := "the plan file"
	again := "'nrun plan -out FILE'"
	if e.Path != "" {
		name += " " + e.Path
		again = "'nrun plan -out " + e.Path + "'"
	}
	return fmt.Sprintf("%s %s. Run %s again to make a new plan, review it, and apply that one.", name, e.Problem, again)
}

// Seal puts the header in front of payload.
func Seal(payload []byte) []byte {
	sum := sha256.Sum256(payload)
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nversion %d\nlength %d\nsha256 %s\n\n", Magic, Version, len(payload), hex.EncodeToString(sum[:]))
	b.Write(payload)
	return b.Bytes()
}

// Open checks the header of a plan file's bytes and returns its payload.
// The error is an *Error whose Path is empty.
func Open(b []byte) ([]byte, error) {
	bad := func(format string, args ...any) ([]byte, error) {
		return nil, &Error{Problem: fmt.Sprintf(format, args...)}
	}
	if len(b) == 0 {
		return bad("is empty (0 bytes): it was never completely written (an interrupted 'nrun plan -out' by an older nrun, or a disk that filled up)")
	}
	magic := []byte(Magic + "\n")
	if !bytes.HasPrefix(b, magic) {
		switch t := bytes.TrimSpace(b); {
		case bytes.HasPrefix(magic, b):
			return bad("is truncated: it ends after %d bytes, inside its header", len(b))
		case len(t) > 0 && t[0] == '{':
			return bad("holds plan JSON, not a saved plan: the output of 'nrun plan -json', or a plan saved by an nrun older than plan file version %d, cannot be applied", Version)
		default:
			return bad("does not start with the %q header: it is not a plan saved by 'nrun plan -out', or its start is damaged", Magic)
		}
	}
	rest := b[len(magic):]
	var fields [3][]byte
	for i, key := range []string{"version", "length", "sha256"} {
		line, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return bad("is truncated: it ends after %d bytes, inside its header", len(b))
		}
		k, v, ok := bytes.Cut(line, []byte(" "))
		if !ok || string(k) != key {
			return bad("has a damaged header: line %d is %q, where %q was expected", i+2, line, key+" ...")
		}
		fields[i], rest = v, after
	}
	version, err := strconv.Atoi(string(fields[0]))
	if err != nil {
		return bad("has a damaged header: version %q is not a number", fields[0])
	}
	if version != Version {
		return bad("has format version %d, and this nrun reads version %d: make the plan with the nrun that applies it", version, Version)
	}
	n, err := strconv.Atoi(string(fields[1]))
	if err != nil || n < 0 {
		return bad("has a damaged header: length %q is not a number of bytes", fields[1])
	}
	want, err := hex.DecodeString(string(fields[2]))
	if err != nil || len(want) != sha256.Size {
		return bad("has a damaged header: %q is not a SHA-256", fields[2])
	}
	if len(rest) == 0 {
		return bad("is truncated: it ends after its header, with none of its %d payload bytes", n)
	}
	if rest[0] != '\n' {
		return bad("has a damaged header: no empty line after it")
	}
	payload := rest[1:]
	switch {
	case len(payload) < n:
		return bad("is truncated: it holds %d of its %d payload bytes", len(payload), n)
	case len(payload) > n:
		return bad("has %d bytes more than its header says (%d): it was appended to or damaged", len(payload)-n, n)
	}
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], want) {
		return bad("fails its checksum (sha256 %s, the header says %x): it was changed or damaged after 'nrun plan -out' wrote it", hex.EncodeToString(sum[:]), want)
	}
	return payload, nil
}

// Encode returns the bytes of a plan file holding p.
func Encode(p *planner.Plan) ([]byte, error) {
	payload, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return Seal(append(payload, '\n')), nil
}

// Decode checks a plan file's bytes and returns the plan it holds. The
// error is an *Error whose Path is empty.
func Decode(b []byte) (*planner.Plan, error) {
	payload, err := Open(b)
	if err != nil {
		return nil, err
	}
	p := &planner.Plan{}
	if err := json.Unmarshal(payload, p); err != nil {
		return nil, &Error{Problem: fmt.Sprintf("passes its checksum but holds a plan nrun cannot read (%v)", err)}
	}
	if err := validate(p); err != nil {
		return nil, &Error{Problem: fmt.Sprintf("passes its checksum but holds a plan 'nrun plan' cannot have written: %v", err)}
	}
	return p, nil
}

// validate refuses a plan nrun plan cannot have written, before anything
// reads it.
func validate(p *planner.Plan) error {
	if p.FormatVersion != "1" {
		return fmt.Errorf("format_version is %q, and this nrun reads \"1\"", p.FormatVersion)
	}
	for i, in := range p.Instances {
		if in == nil {
			return fmt.Errorf("instance %d is null", i)
		}
		if in.Step.Name == "" {
			return fmt.Errorf("instance %d has no address", i)
		}
	}
	return nil
}

// Read reads and checks the plan file at path.
func Read(path string) (*planner.Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := Decode(b)
	if e, ok := err.(*Error); ok {
		e.Path = path
	}
	return p, err
}

// Sniff reports whether the regular file at path should be read as a plan
// file rather than a runbook: it starts with the magic line (or is a
// prefix of it, truncated), is empty, or holds JSON. An empty or JSON file
// is never a runbook worth running, and reading it as a plan file refuses
// it with a reason, instead of applying "nothing to do".
func Sniff(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := f.Read(head)
	head = head[:n]
	magic := []byte(Magic + "\n")
	if bytes.HasPrefix(head, magic) || bytes.HasPrefix(magic, head) {
		return true // includes the empty file
	}
	t := bytes.TrimSpace(head)
	return len(t) > 0 && t[0] == '{'
}

// writeHook, when set (tests), runs after the temporary file is written
// and before it is synced and renamed; an error aborts Write there, as a
// crash would.
var writeHook func(tmp string) error

// Write saves p at path, readable by its owner only (it holds the clear
// variable values, and keyed hashes of the sensitive ones). The target is
// replaced whole or not at all: an interrupted Write leaves the previous
// file as it was.
func Write(path string, p *planner.Plan) error {
	b, err := Encode(p)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// CreateTemp makes it 0600 already; say so for the umask-less reader.
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		return err
	}
	if writeHook != nil {
		if err := writeHook(tmp.Name()); err != nil {
			return err
		}
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	done = true
	// The rename is durable only once the directory is.
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
