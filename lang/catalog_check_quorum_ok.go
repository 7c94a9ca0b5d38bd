package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckQuorumOk is the catalog name of check "quorum_ok".
const CheckQuorumOk = "quorum_ok"

func init() {
	addCheck(CheckQuorumOk, &CheckSpec{
		Doc: "The cluster stays at quorum with the step's target down: healthy voters, minus the target when it is a healthy voter, is at least voters/2+1. Without a server target it checks the cluster is at quorum now. " +
			"A voter counts as healthy only when autopilot calls it healthy and it is alive by signals of its own, because autopilot keeps calling a server that just died healthy until gossip marks it failed (seconds; it may miss a quick restart): " +
			"gossip must report it alive, and nrun opens a TCP connection to each server's Raft/RPC address when it reads the cluster; a refused connection (the agent is down) or no answer within 1s counts the server as not healthy, and the check names it and says to wait until it is up again or removed from Raft. " +
			"When no server's RPC address accepts a connection from where nrun runs (RPC ports behind a firewall), the probe cannot tell anything and gossip alone decides; the check says so (`liveness by gossip only`), and the detection delay of gossip applies. " +
			"An inventory written before nrun probed has no probe results and is judged by gossip alone.",
		Attrs: []AttrSpec{
			{Name: "cluster", Type: cty.String, Doc: `"nomad" or "consul". Default: consul when the target is a Consul server, else nomad.`, check: checkOneOf("nomad", "consul")},
		},
		Cluster: ClusterRule{Default: ClusterNomadServers, Attr: "cluster", FromTarget: true},
		Reads:   append(nomadCap("operator:read"), consulCap("operator:read")...),
		Wait:    WaitStrategy{Kind: WaitPoll, Interval: time.Second, Settle: true},
		Proves:  []Guarantee{ProvesQuorum},
	})
}
