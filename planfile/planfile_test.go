package planfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nrun-dev/nrun/planner"
)

// samplePlan is a plan as nrun plan writes it (a views golden).
func samplePlan(t *testing.T) *planner.Plan {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "views", "testdata", "plan", "drain_node_pool.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Decode(Seal(b))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTrip(t *testing.T) {
	p := samplePlan(t)
	path := filepath.Join(t.TempDir(), "p.nrunplan")
	if err := Write(path, p); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Encode(p)
	b, _ := Encode(got)
	if !bytes.Equal(a, b) {
		t.Fatal("the plan read back differs from the plan written")
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if !Sniff(path) {
		t.Error("Sniff does not recognise a plan file")
	}
}

// TestDamaged: every way a plan file can be damaged is refused with what
// is wrong and what to do.
func TestDamaged(t *testing.T) {
	good, err := Encode(samplePlan(t))
	if err != nil {
		t.Fatal(err)
	}
	headerLen := bytes.Index(good, []byte("\n\n")) + 2
	tests := map[string]struct {
		damage func([]byte) []byte
		want   string
	}{
		"empty": {
			damage: func([]byte) []byte { return nil },
			want:   "is empty (0 bytes)",
		},
		"truncated in the magic": {
			damage: func(b []byte) []byte { return b[:4] },
			want:   "is truncated: it ends after 4 bytes, inside its header",
		},
		"truncated in the header": {
			damage: func(b []byte) []byte { return b[:20] },
			want:   "inside its header",
		},
		"truncated after the header": {
			damage: func(b []byte) []byte { return b[:headerLen-1] },
			want:   "with none of its",
		},
		"truncated payload": {
			damage: func(b []byte) []byte { return b[:len(b)-100] },
			want:   "is truncated: it holds",
		},
		"appended": {
			damage: func(b []byte) []byte { return append(b, "x"...) },
			want:   "1 bytes more than its header says",
		},
		"flipped byte": {
			damage: func(b []byte) []byte { b[len(b)/2] ^= 0x20; return b },
			want:   "fails its checksum",
		},
		"wrong version": {
			damage: func(b []byte) []byte { return bytes.Replace(b, []byte("version 1\n"), []byte("version 2\n"), 1) },
			want:   "has format version 2, and this nrun reads version 1",
		},
		"damaged version": {
			damage: func(b []byte) []byte { return bytes.Replace(b, []byte("version 1\n"), []byte("version one\n"), 1) },
			want:   `version "one" is not a number`,
		},
		"missing line": {
			damage: func(b []byte) []byte { return bytes.Replace(b, []byte("version 1\n"), nil, 1) },
			want:   `line 2 is "length`,
		},
		"public JSON": {
			damage: func(b []byte) []byte { return b[headerLen:] },
			want:   "holds plan JSON, not a saved plan",
		},
		"not a plan": {
			damage: func([]byte) []byte { return []byte("step \"a\" {}\n") },
			want:   `does not start with the "nrun-plan" header`,
		},
		"null instance, resealed": {
			damage: func(b []byte) []byte {
				return Seal(bytes.Replace(b[headerLen:], []byte(`"instances": [`), []byte(`"instances": [null,`), 1))
			},
			want: "instance 0 is null",
		},
		"not JSON, resealed": {
			damage: func([]byte) []byte { return Seal([]byte("nope")) },
			want:   "holds a plan nrun cannot read",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.nrunplan")
			if err := os.WriteFile(path, tc.damage(bytes.Clone(good)), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Read(path)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Read: %v; want a *planfile.Error", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "the plan file "+path) || !strings.Contains(msg, "Run 'nrun plan -out "+path+"' again") {
				t.Errorf("Read: %s\nwant it to contain %q, name the file and say to plan again", msg, tc.want)
			}
		})
	}
}

// TestWriteReplacesWhole: Write never changes the target in place. A
// failure after the new bytes were written (a crash, a full disk) leaves
// the previous plan as it was and no temporary file; a success puts a new
// file (a new inode) at the path.
func TestWriteReplacesWhole(t *testing.T) {
	p := samplePlan(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "p.nrunplan")
	if err := Write(path, p); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	oldIno := fi.Sys().(*syscall.Stat_t).Ino

	crash := errors.New("interrupted")
	writeHook = func(tmp string) error {
		// The new bytes are in the temporary file, neither synced nor
		// renamed, when the process dies.
		return crash
	}
	p.Summary.Instances++
	err = Write(path, p)
	writeHook = nil
	if !errors.Is(err, crash) {
		t.Fatalf("Write with a fault: %v", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the previous plan file after an interrupted Write: %v", err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("an interrupted Write changed the previous plan file")
	}
	if _, err := Read(path); err != nil {
		t.Fatalf("the previous plan no longer reads: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("files left behind: %v", ents)
	}

	if err := Write(path, p); err != nil {
		t.Fatal(err)
	}
	if fi, err = os.Stat(path); err != nil {
		t.Fatal(err)
	}
	if fi.Sys().(*syscall.Stat_t).Ino == oldIno {
		t.Error("Write rewrote the target in place; it must rename a new file over it")
	}
	got, err := Read(path)
	if err != nil || got.Summary.Instances != p.Summary.Instances {
		t.Fatalf("the new plan: %v", err)
	}
}

func TestSniff(t *testing.T) {
	tests := map[string]struct {
		content string
		want    bool
	}{
		"empty":     {"", true},
		"magic":     {"nrun-plan\nversion 1\n", true},
		"truncated": {"nrun-p", true},
		"json":      {"  {\"format_version\": \"1\"}", true},
		"runbook":   {"step \"a\" {\n}\n", false},
		"comment":   {"# nrun-plan\n", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			os.WriteFile(path, []byte(tc.content), 0o600)
			if got := Sniff(path); got != tc.want {
				t.Errorf("Sniff(%q) = %v, want %v", tc.content, got, tc.want)
			}
		})
	}
	if Sniff(t.TempDir()) {
		t.Error("a directory sniffed as a plan file")
	}
}
