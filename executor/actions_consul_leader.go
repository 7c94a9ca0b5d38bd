package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

func init() {
	implementCluster(lang.ActionConsulRaftTransferLeader, func(r *runner, ctx context.Context, c *cluster.Client, n *node, args map[string]cty.Value) (string, string, error) {
		var from, to *checks.Target
		if v, ok := args["server"]; ok && !v.IsNull() {
			t, err := checks.TargetFromValue(v)
			if err != nil {
				return "", "", err
			}
			from = &t
		} else if t := n.target(); t.ID != "" || t.Name != "" || t.Address != "" {
			from = &t
		}
		if v, ok := args["to"]; ok && !v.IsNull() {
			t, err := checks.TargetFromValue(v)
			if err != nil {
				return "", "", err
			}
			to = &t
		}
		d, err := r.consulTransferLeader(ctx, c, n, from, to)
		return d, "", err
	})
}

// consulLeaderWait bounds the wait for Consul's next leader after a
// transfer: an election takes seconds.
const consulLeaderWait = 60 * time.Second

// consulTransferLeader moves Consul's Raft leadership off from (off
// whichever server leads when from is nil), to the server to names or
// to a voter Consul picks, and waits until a leader is known that is not
// the old one. When from does not lead it sends nothing: running it again
// after the transfer is a no-op. consul_raft_transfer_leader and
// leader_not_target's transfer on a Consul server both come here.
func (r *runner) consulTransferLeader(ctx context.Context, c *cluster.Client, n *node, from, to *checks.Target) (string, error) {
	peers, err := c.ConsulRaftPeers(ctx)
	if err != nil {
		return "", err
	}
	var leader *cluster.ConsulRaftPeer
	for i := range peers {
		if peers[i].Leader {
			leader = &peers[i]
		}
	}
	if leader == nil {
		return "", errors.New("consul has no Raft leader to transfer leadership from")
	}
	if from != nil && !consulPeerIs(*leader, *from) {
		return fmt.Sprintf("consul server %s does not lead (%s does); nothing sent", targetLabel(*from), leader.Node), nil
	}
	toID, toName := "", "a voter Consul picks"
	if to != nil {
		var peer *cluster.ConsulRaftPeer
		for i := range peers {
			if consulPeerIs(peers[i], *to) {
				peer = &peers[i]
			}
		}
		switch {
		case peer == nil:
			return "", fmt.Errorf("consul server %s is not a Raft peer", targetLabel(*to))
		case peer.ID == leader.ID:
			return "", fmt.Errorf("consul server %s already leads; to must name another server", peer.Node)
		case !peer.Voter:
			return "", fmt.Errorf("consul server %s is not a voter", peer.Node)
		}
		toID, toName = peer.ID, peer.Node
	}
	r.log.Printf("%s: transferring Consul leadership from %s to %s", n.addr, leader.Node, toName)
	r.emit(Event{Kind: EventInfo, Addr: n.addr, Message: fmt.Sprintf("transferring Consul leadership from %s to %s", leader.Node, toName)})
	if err := c.RaftTransferLeader(ctx, toID); err != nil {
		return "", err
	}
	// Wait until a leader is known again and it is not the old one (the
	// leader steps down at once; the next is elected within seconds).
	var now string
	err = r.pollUntil(ctx, consulLeaderWait, func() (bool, string, error) {
		ps, err := c.ConsulRaftPeers(ctx)
		if err != nil {
			return false, fmt.Sprintf("no answer (%v)", err), nil
		}
		for _, p := range ps {
			if p.Leader {
				now = p.Node
				return p.ID != leader.ID, "leader " + p.Node, nil
			}
		}
		return false, "no leader", nil
	})
	if err != nil {
		return "", fmt.Errorf("wait for a Consul leader other than %s: %w", leader.Node, err)
	}
	return fmt.Sprintf("consul leadership transferred from %s to %s", leader.Node, now), nil
}

// consulPeerIs reports whether Raft peer p is the server t names: by Raft
// ID, node name or address (a Nomad server's name without its region).
func consulPeerIs(p cluster.ConsulRaftPeer, t checks.Target) bool {
	name := consulNodeName(t)
	return (t.ID != "" && (p.ID == t.ID || p.Node == t.ID)) ||
		(name != "" && (p.Node == name || p.ID == name || p.Address == name)) ||
		(t.Address != "" && p.Address == t.Address)
}

func targetLabel(t checks.Target) string { return firstNonEmpty(t.Name, t.ID, t.Address) }
