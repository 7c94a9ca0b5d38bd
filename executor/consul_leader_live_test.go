package executor

import (
	"context"
	"testing"

	consul "github.com/hashicorp/consul/api"

	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

func consulLeaderNode(t *testing.T, cc *consul.Client) string {
	t.Helper()
	rc, err := cc.Operator().RaftGetConfiguration(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rc.Servers {
		if s.Leader {
			return s.Node
		}
	}
	t.Fatal("consul has no leader")
	return ""
}

// TestLiveConsulTransferLeader moves Consul's leadership off its leader
// with consul_raft_transfer_leader, then with leader_not_target's
// transfer on a Consul server target.
func TestLiveConsulTransferLeader(t *testing.T) {
	e, cc := liveConsul(t)
	sandboxtest.Timer(t)
	for i, src := range []string{`
data "consul_servers" "all" {}
step "off" {
  target = data.consul_servers.all.leader
  action "consul_raft_transfer_leader" {}
}
`, `
data "consul_servers" "all" {}
step "touch" {
  target = data.consul_servers.all.leader
  precondition "leader_not_target" {
    transfer = true
  }
  action "exec" {
    command = ["true"]
    effect  = "none"
  }
}
`} {
		before := consulLeaderNode(t, cc)
		cfg := e.liveConfig(t, t.TempDir(), src, &eventLog{})
		res, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != journal.StatusFinished {
			t.Fatalf("run %d: %+v\n%s", i, res, runLog(res))
		}
		if after := consulLeaderNode(t, cc); after == before {
			t.Fatalf("run %d: %s still leads\n%s", i, after, runLog(res))
		}
	}
}
