package sandbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// TestNewWithoutConsul starts the smallest cluster through sandboxtest.New
// (one server, one client, no Consul) and checks that t.Cleanup tears it
// down, and that a second Start on a live Root is refused.
func TestNewWithoutConsul(t *testing.T) {
	sandboxtest.Timer(t)
	spec := sandbox.DefaultSpec("", 1, 1, 0, sandbox.DefaultNomadVersion)
	var c *sandbox.Cluster
	t.Run("running", func(t *testing.T) {
		c = sandboxtest.New(t, spec)
		if leader, err := c.Leader(); err != nil || leader != "s1" {
			t.Fatalf("Leader() = %q, %v; want s1", leader, err)
		}
		for _, kv := range c.Env() {
			if strings.HasPrefix(kv, "CONSUL_HTTP_ADDR=") {
				t.Fatalf("Env() names Consul in a sandbox without Consul: %v", c.Env())
			}
		}
		again := spec
		again.Root = c.Root()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := sandbox.Start(ctx, again); err == nil || !strings.Contains(err.Error(), "already running") {
			t.Fatalf("second Start on a live root: err = %v, want 'already running'", err)
		}
		if len(c.Processes()) < 2 {
			t.Fatalf("want at least the server and the client running, got %v", c.Processes())
		}
	})
	if c == nil {
		t.Fatal("no cluster")
	}
	if left := c.Processes(); len(left) > 0 {
		t.Fatalf("processes left after the subtest's cleanup: %v", left)
	}
}
