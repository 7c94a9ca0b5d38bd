package cluster

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// snapshotArchive builds a gzip'd tar of the given members, in order.
func snapshotArchive(t *testing.T, members ...[2]string) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, m := range members {
		if err := tw.WriteHeader(&tar.Header{Name: m[0], Mode: 0o600, Size: int64(len(m[1]))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(m[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	var gb bytes.Buffer
	zw := gzip.NewWriter(&gb)
	zw.Write(tb.Bytes())
	zw.Close()
	return gb.Bytes()
}

func sums(files ...[2]string) string {
	var b strings.Builder
	for _, f := range files {
		h := sha256.Sum256([]byte(f[1]))
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h[:]), f[0])
	}
	return b.String()
}

// TestReadRaftSnapshotHead: what the plan accepts as a snapshot to
// restore, and what VerifyRaftSnapshot adds before a restore.
func TestReadRaftSnapshotHead(t *testing.T) {
	meta := [2]string{"meta.json", `{"Version":1,"ID":"2-10-1","Index":10,"Term":2}`}
	state := [2]string{"state.bin", "state"}
	good := snapshotArchive(t, meta, state, [2]string{"SHA256SUMS", sums(meta, state)})
	cases := map[string]struct {
		data       []byte // nil: no file
		headErr    string // "" when the head reads
		verifyErr  string // "" when the whole archive verifies
		wantIndex  uint64
		truncateTo int
	}{
		"valid":               {data: good, wantIndex: 10},
		"missing":             {headErr: "no such file"},
		"empty":               {data: []byte{}, headErr: "is empty"},
		"text":                {data: []byte("not a snapshot\n"), headErr: "not a gzip stream"},
		"gzip, not tar":       {data: gzipOf([]byte("plain text inside gzip, no tar header here at all, just words to fill a block")), headErr: "not a tar archive"},
		"state.bin first":     {data: snapshotArchive(t, state, meta), headErr: "not meta.json"},
		"meta.json bad":       {data: snapshotArchive(t, [2]string{"meta.json", "{"}, state), headErr: "does not parse"},
		"meta.json no index":  {data: snapshotArchive(t, [2]string{"meta.json", `{"Term":2}`}, state), headErr: "no Raft index"},
		"no state.bin":        {data: snapshotArchive(t, meta), headErr: "ends after meta.json"},
		"other second member": {data: snapshotArchive(t, meta, [2]string{"x", "y"}), headErr: "not state.bin"},
		"no SHA256SUMS":       {data: snapshotArchive(t, meta, state), wantIndex: 10, verifyErr: "no SHA256SUMS"},
		"state.bin altered": {data: snapshotArchive(t, meta, [2]string{"state.bin", "STATE"}, [2]string{"SHA256SUMS", sums(meta, state)}),
			wantIndex: 10, verifyErr: "does not match"},
		"truncated after the head": {data: good, truncateTo: len(good) - 8, wantIndex: 10, verifyErr: "damaged"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.snap")
			if tc.data != nil {
				data := tc.data
				if tc.truncateTo > 0 {
					data = data[:tc.truncateTo]
				}
				if err := os.WriteFile(path, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			m, err := ReadRaftSnapshotHead(path)
			if tc.headErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.headErr) {
					t.Fatalf("head: got %v, want an error with %q", err, tc.headErr)
				}
				return
			}
			if err != nil || m.Index != tc.wantIndex || m.Term != 2 || m.Size == 0 {
				t.Fatalf("head: %+v, %v; want index %d, term 2", m, err, tc.wantIndex)
			}
			_, digest, err := VerifyRaftSnapshot(path)
			if tc.verifyErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.verifyErr) {
					t.Fatalf("verify: got %v, want an error with %q", err, tc.verifyErr)
				}
				return
			}
			if err != nil || !strings.HasPrefix(digest, "sha256:") {
				t.Fatalf("verify: %q, %v", digest, err)
			}
		})
	}
}

func gzipOf(b []byte) []byte {
	var gb bytes.Buffer
	zw := gzip.NewWriter(&gb)
	zw.Write(b)
	zw.Close()
	return gb.Bytes()
}
