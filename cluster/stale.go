package cluster

import (
	"context"
	"errors"
	"strings"
)

type staleKey struct{}

// withStale lets the reads made with ctx be answered by any server from its
// local state: the only way to see a cluster that has no leader.
func withStale(ctx context.Context) context.Context {
	return context.WithValue(ctx, staleKey{}, true)
}

func staleAllowed(ctx context.Context) bool {
	ok, _ := ctx.Value(staleKey{}).(bool)
	return ok
}

// noLeader reports whether err is a server's "No cluster leader" answer
// (Nomad and Consul both say so, with HTTP 500).
func noLeader(err error) bool {
	var e *Error
	if errors.As(err, &e) && strings.Contains(e.Detail, "No cluster leader") {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "No cluster leader")
}
