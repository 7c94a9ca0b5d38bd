package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// lockName is the file in Root whose flock serialises every change to the
// sandbox across processes. Terraform runs the local-exec provisioners of
// different resources at the same time, so several `nrun sandbox server
// add` can run at once; each reads the state file, adds its agent and
// writes the file back, and without the lock one would drop another's
// agent. The lock is released when the holder exits, whatever the way, and
// the agents a holder starts do not inherit it (Go opens files close-on-
// exec).
const lockName = "sandbox.lock"

// edit takes the sandbox's cross-process lock and reloads the state file,
// so that a change another process made in between is kept. The caller
// holds c.mu, makes its change, saves it, and then calls the returned
// function.
func (c *Cluster) edit(ctx context.Context) (func(), error) {
	if err := os.MkdirAll(c.root, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(ctx, filepath.Join(c.root, lockName), func() {
		fmt.Fprintf(c.progress(), "nrun sandbox: waiting for another nrun sandbox command to finish its change in %s\n", c.root)
	})
	if err != nil {
		return nil, fmt.Errorf("lock the sandbox in %s: %w", c.root, err)
	}
	if err := c.reload(); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// reload replaces the in-memory state with the state file, when there is
// one (Start has none before its first save). The file is replaced by
// rename, so a reader never sees half of it. The caller holds c.mu.
func (c *Cluster) reload() error {
	data, err := os.ReadFile(filepath.Join(c.root, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("sandbox state %s is unreadable (%v); remove the directory after checking no agent runs from it", filepath.Join(c.root, stateFile), err)
	}
	c.st = st
	return nil
}

// refresh is reload for readers: when the file cannot be read (the sandbox
// was taken down) the last known state stays.
func (c *Cluster) refresh() {
	_ = c.reload()
}
