package cluster

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	consul "github.com/hashicorp/consul/api"
)

// RaftSnapshotMeta is what the head of a Raft snapshot file (Nomad's or
// Consul's: both write a gzip'd tar of meta.json, state.bin and
// SHA256SUMS) says about it.
type RaftSnapshotMeta struct {
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
	// Index and Term are the Raft index and term the snapshot was taken
	// at, from meta.json.
	Index uint64 `json:"index"`
	Term  uint64 `json:"term"`
	// ID is the snapshot's Raft ID, from meta.json.
	ID string `json:"id,omitempty"`
}

// ReadRaftSnapshotHead checks, cheaply, that path holds a Raft snapshot:
// it exists, is a non-empty regular file, starts a gzip stream, and its
// tar's first member is a meta.json that parses, followed by a state.bin
// header. It stops there: state.bin (the bulk) is neither read nor
// checked, so a file truncated after its head passes; VerifyConsulSnapshot
// reads the whole archive and checks its SHA256SUMS, and a restore runs
// it first.
func ReadRaftSnapshotHead(path string) (RaftSnapshotMeta, error) {
	var m RaftSnapshotMeta
	f, err := os.Open(path)
	if err != nil {
		return m, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return m, err
	}
	if !fi.Mode().IsRegular() {
		return m, fmt.Errorf("%s is not a regular file", path)
	}
	if m.Size = fi.Size(); m.Size == 0 {
		return m, fmt.Errorf("%s is empty", path)
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		return m, fmt.Errorf("%s is not a gzip stream, so not a Raft snapshot: %w", path, err)
	}
	tr := tar.NewReader(zr)
	hdr, err := tr.Next()
	if err != nil {
		return m, fmt.Errorf("%s is not a tar archive, so not a Raft snapshot: %w", path, err)
	}
	if hdr.Name != "meta.json" {
		return m, fmt.Errorf("%s: the archive starts with %q, not meta.json, so it is not a Raft snapshot", path, hdr.Name)
	}
	var meta struct {
		ID    string
		Index uint64
		Term  uint64
	}
	if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(&meta); err != nil {
		return m, fmt.Errorf("%s: meta.json does not parse: %w", path, err)
	}
	if meta.Index == 0 {
		return m, fmt.Errorf("%s: meta.json has no Raft index", path)
	}
	m.ID, m.Index, m.Term = meta.ID, meta.Index, meta.Term
	hdr, err = tr.Next()
	if err != nil {
		return m, fmt.Errorf("%s: the archive ends after meta.json: %w", path, err)
	}
	if hdr.Name != "state.bin" {
		return m, fmt.Errorf("%s: the archive's second member is %q, not state.bin, so it is not a Raft snapshot", path, hdr.Name)
	}
	return m, nil
}

// ConsulSnapshotRestore restores the Consul snapshot at path, after
// reading it through (VerifyConsulSnapshot): a damaged file is refused
// before anything is sent. It returns the snapshot's head and digest.
func (c *Client) ConsulSnapshotRestore(ctx context.Context, path string) (RaftSnapshotMeta, string, error) {
	if c.consul == nil {
		return RaftSnapshotMeta{}, "", errors.New("no Consul cluster is configured")
	}
	meta, digest, err := VerifyRaftSnapshot(path)
	if err != nil {
		return meta, "", fmt.Errorf("refusing to restore: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return meta, "", err
	}
	defer f.Close()
	if err := c.consul.Snapshot().Restore((&consul.WriteOptions{}).WithContext(ctx), f); err != nil {
		return meta, "", c.consulErr("restore the snapshot", err)
	}
	return meta, digest, nil
}

// VerifyRaftSnapshot is ReadRaftSnapshotHead and then VerifyConsulSnapshot
// (Nomad's archive has the same layout): the head, and every byte of the
// archive checked against its gzip CRC and SHA256SUMS. It returns the
// head and the file's digest.
func VerifyRaftSnapshot(path string) (RaftSnapshotMeta, string, error) {
	meta, err := ReadRaftSnapshotHead(path)
	if err != nil {
		return meta, "", err
	}
	_, digest, err := VerifyConsulSnapshot(path)
	if err != nil {
		return meta, "", fmt.Errorf("%s is damaged: %w", path, err)
	}
	return meta, digest, nil
}
