package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckServerHealthy is the catalog name of check "server_healthy".
const CheckServerHealthy = "server_healthy"

func init() {
	addCheck(CheckServerHealthy, &CheckSpec{
		Doc:    "Autopilot reports the server healthy (alive, voter, caught up) and it is alive by the liveness signals of quorum_ok (gossip, a TCP connect to its RPC address); as a wait, for at least autopilot's server_stabilization_time.",
		Target: TargetNomadServer, TargetAttr: "server",
		Attrs: []AttrSpec{
			{Name: "server", Type: cty.DynamicPseudoType, Objects: anyServerObjects, Doc: "The server. Defaults to the step's target."},
		},
		Cluster: ClusterRule{Default: ClusterNomadServers, FromTarget: true},
		Reads:   append(nomadCap("operator:read"), consulCap("operator:read")...),
		Wait:    WaitStrategy{Kind: WaitPoll, Interval: time.Second, Settle: true, Stable: true},
		Proves:  []Guarantee{ProvesHealthy},
	})
}
