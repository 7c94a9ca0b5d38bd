package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckRaftPeerPresent is the catalog name of check "raft_peer_present".
const CheckRaftPeerPresent = "raft_peer_present"

func init() {
	addCheck(CheckRaftPeerPresent, &CheckSpec{
		Doc:    "The server is in the Raft peer set.",
		Target: TargetNomadServer, TargetAttr: "server",
		Attrs: []AttrSpec{
			{Name: "server", Type: cty.DynamicPseudoType, Objects: anyServerObjects, Doc: "The server. Defaults to the step's target."},
		},
		Cluster: ClusterRule{Default: ClusterNomadServers, FromTarget: true},
		Reads:   append(nomadCap("operator:read"), consulCap("operator:read")...),
		Wait:    WaitStrategy{Kind: WaitPoll, Interval: 5 * time.Second},
		Proves:  []Guarantee{ProvesJoined},
	})
}
