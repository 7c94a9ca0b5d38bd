package executor

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// snapshotSave writes a Nomad snapshot atomically: into a temporary file
// next to the target, hashed while written, fsynced, then re-read to check
// the digest and that it is a readable gzip stream (Nomad's snapshot is a
// gzip'd tar), and only then renamed into place.
func (r *runner) snapshotSave(ctx context.Context, path string) (string, string, error) {
	if err := r.needNomad(); err != nil {
		return "", "", err
	}
	if path == "" {
		return "", "", errors.New("nomad_snapshot_save: path is empty")
	}
	dst := r.resolvePath(path)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", "", err
	}
	rc, err := r.nomad.snapshot(ctx)
	if err != nil {
		return "", "", fmt.Errorf("take the snapshot: %w", err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return "", "", err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(tmp, h), rc)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", "", fmt.Errorf("write the snapshot: %w", err)
	}
	written := hex.EncodeToString(h.Sum(nil))
	entries, reread, err := verifySnapshot(tmp.Name())
	if err != nil {
		return "", "", fmt.Errorf("the snapshot written to %s is not readable: %w", tmp.Name(), err)
	}
	if reread != written {
		return "", "", fmt.Errorf("the snapshot's digest changed between writing and reading back (%s, then %s)", written, reread)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", "", err
	}
	syncDir(filepath.Dir(dst))
	digest := "sha256:" + written
	return fmt.Sprintf("snapshot %s: %d bytes, %d archive entries, %s", dst, size, entries, digest), digest, nil
}

// verifySnapshot re-reads the file: its sha256, and a full pass through
// the gzip stream (whose CRC the gzip reader checks) and the tar headers.
func verifySnapshot(path string) (entries int, digest string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	zr, err := gzip.NewReader(io.TeeReader(f, h))
	if err != nil {
		return 0, "", fmt.Errorf("not a gzip stream: %w", err)
	}
	tr := tar.NewReader(zr)
	for {
		_, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return entries, "", fmt.Errorf("tar: %w", err)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return entries, "", fmt.Errorf("tar entry: %w", err)
		}
		entries++
	}
	// Drain the rest so the gzip trailer (CRC, size) is checked and the
	// digest covers every byte.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return entries, "", fmt.Errorf("gzip: %w", err)
	}
	if _, err := io.Copy(io.Discard, f); err != nil {
		return entries, "", err
	}
	return entries, hex.EncodeToString(h.Sum(nil)), nil
}
