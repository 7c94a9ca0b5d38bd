package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckQuorumOk is the catalog name of check "quorum_ok".
const CheckQuorumOk = "quorum_ok"

func init() {
	addCheck(CheckQuorumOk, &CheckSpec{
		Doc: "The cluster stays at quorum with the step's target down: healthy voters, minus the target when it is a healthy voter, is at least voters/2+1. Without a server target it checks the cluster is at quorum now.",
		Attrs: []AttrSpec{
			{Name: "cluster", Type: cty.String, Doc: `"nomad" or "consul". Default: consul when the target is a Consul server, else nomad.`, check: checkOneOf("nomad", "consul")},
		},
		Cluster: ClusterRule{Default: ClusterNomadServers, Attr: "cluster", FromTarget: true},
		Reads:   append(nomadCap("operator:read"), consulCap("operator:read")...),
		Wait:    WaitStrategy{Kind: WaitPoll, Interval: time.Second, Settle: true},
		Proves:  []Guarantee{ProvesQuorum},
	})
}
