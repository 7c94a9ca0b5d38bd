package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// UnnamedError is a view that still had unnamed Raft peers (View.Unnamed)
// after SnapshotSettled read it again for a while.
type UnnamedError struct {
	Servers []string
	Waited  time.Duration
}

func (e *UnnamedError) Error() string {
	return fmt.Sprintf("the Raft configuration lists %s, which no gossip member names (read again for %s). nrun plans steps over servers by name, so it cannot plan on this view. If a server is restarting, wait until `nomad server members` (or `consul members`) lists it and run again; if it is gone for good, remove it from Raft first (nomad operator raft remove-peer -peer-id ID, or consul operator raft remove-peer -id ID)",
		strings.Join(e.Servers, ", "), e.Waited.Round(time.Second))
}

// Transient reports whether the agent answered with a server error (5xx):
// the agent is up, but the server it asked could not answer, as while a
// server restarts ("failed to get conn") or an election runs ("No cluster
// leader"). Asked again a moment later, it usually can.
func (e *Error) Transient() bool { return e != nil && e.Status >= 500 }

// transient reports whether every error joined in err is Transient.
func transient(err error) bool {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	n := 0
	for _, e := range errs {
		if e == nil {
			continue
		}
		var ce *Error
		if !errors.As(e, &ce) || !ce.Transient() {
			return false
		}
		n++
	}
	return n > 0
}

// SnapshotSettled is Snapshot for a view to plan on, read again every poll
// while the cluster's answer is in flux, for up to wait:
//   - an agent answers a read with a server error (Error.Transient): a
//     server it forwards to is restarting, or an election runs;
//   - a Raft peer has no name (View.Unnamed): a server that restarts is
//     named again by the others within seconds of rejoining.
//
// A read refused for any other reason (unreachable, TLS, permission) is
// returned at once. After wait it returns what the last read gave: the
// transient error, with how long nrun asked in its detail, or the view and
// an *UnnamedError.
func (c *Client) SnapshotSettled(ctx context.Context, opts SnapshotOptions, wait, poll time.Duration) (*View, error) {
	start := time.Now()
	for {
		v, err := c.Snapshot(ctx, opts)
		var u []string
		switch {
		case err != nil && !transient(err):
			return v, err
		case err == nil:
			if u = v.Unnamed(); len(u) == 0 {
				return v, nil
			}
		}
		waited := time.Since(start)
		if waited >= wait || ctx.Err() != nil {
			if err != nil {
				return v, askedFor(err, waited)
			}
			return v, &UnnamedError{Servers: u, Waited: waited}
		}
		t := time.NewTimer(min(poll, wait-waited))
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
}

// askedFor adds to each transient *Error in err how long nrun asked.
func askedFor(err error, waited time.Duration) error {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var ce *Error
		if errors.As(e, &ce) {
			ce.Detail += fmt.Sprintf(" (nrun asked again for %s)", waited.Round(time.Second))
		}
	}
	return err
}
