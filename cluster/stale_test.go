package cluster

import (
	"context"
	"errors"
	"testing"
)

func TestNoLeader(t *testing.T) {
	tests := map[string]struct {
		err  error
		want bool
	}{
		"nil":          {nil, false},
		"plain":        {errors.New("Unexpected response code: 500 (No cluster leader)"), true},
		"typed":        {&Error{System: "nomad", Detail: "Unexpected response code: 500 (No cluster leader)"}, true},
		"joined":       {errors.Join(errors.New("x"), &Error{Detail: "No cluster leader"}), true},
		"unreachable":  {&Error{Detail: "dial tcp 127.0.0.1:1: connect: connection refused"}, false},
		"other status": {errors.New("Unexpected response code: 403 (Permission denied)"), false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := noLeader(tc.err); got != tc.want {
				t.Errorf("noLeader(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestStaleOnlyWhenAsked(t *testing.T) {
	ctx := context.Background()
	c := &Client{}
	if c.nomadQuery(ctx).AllowStale || c.consulQuery(ctx).AllowStale {
		t.Error("reads are stale by default; they must go to the leader")
	}
	if !c.nomadQuery(withStale(ctx)).AllowStale || !c.consulQuery(withStale(ctx)).AllowStale {
		t.Error("withStale does not allow stale reads")
	}
}
