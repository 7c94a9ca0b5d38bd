package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// UnnamedError is a view that still had unnamed Raft peers (View.Unnamed)
// after SnapshotNamed read it again for a while.
type UnnamedError struct {
	Servers []string
	Waited  time.Duration
}

func (e *UnnamedError) Error() string {
	return fmt.Sprintf("the Raft configuration lists %s, which no gossip member names (read again for %s). nrun plans steps over servers by name, so it cannot plan on this view. If a server is restarting, wait until `nomad server members` (or `consul members`) lists it and run again; if it is gone for good, remove it from Raft first (nomad operator raft remove-peer -peer-id ID, or consul operator raft remove-peer -id ID)",
		strings.Join(e.Servers, ", "), e.Waited.Round(time.Second))
}

// SnapshotNamed is Snapshot, read again every poll while a Raft peer has
// no name (View.Unnamed): a server that restarts is named again by the
// others within seconds of rejoining. When one is still unnamed after
// wait, it returns the view and an *UnnamedError.
func (c *Client) SnapshotNamed(ctx context.Context, opts SnapshotOptions, wait, poll time.Duration) (*View, error) {
	start := time.Now()
	for {
		v, err := c.Snapshot(ctx, opts)
		if err != nil {
			return v, err
		}
		u := v.Unnamed()
		if len(u) == 0 {
			return v, nil
		}
		waited := time.Since(start)
		if waited >= wait {
			return v, &UnnamedError{Servers: u, Waited: waited}
		}
		t := time.NewTimer(min(poll, wait-waited))
		select {
		case <-ctx.Done():
			t.Stop()
			return v, &UnnamedError{Servers: u, Waited: time.Since(start)}
		case <-t.C:
		}
	}
}
