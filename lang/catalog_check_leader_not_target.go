package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckLeaderNotTarget is the catalog name of check "leader_not_target".
const CheckLeaderNotTarget = "leader_not_target"

func init() {
	addCheck(CheckLeaderNotTarget, &CheckSpec{
		Doc:    "The step's target server is not the Raft leader of its cluster (Nomad's, or Consul's for a Consul server). With transfer = true, leadership of that cluster is first moved off it if it leads.",
		Target: TargetNomadServer, TargetAttr: "server",
		Attrs: []AttrSpec{
			{Name: "server", Type: cty.DynamicPseudoType, Objects: anyServerObjects, Doc: "The server. Defaults to the step's target."},
			{Name: "transfer", Type: cty.Bool, Doc: "Transfer leadership away instead of failing. Default false."},
		},
		Cluster:   ClusterRule{Default: ClusterNomadServers, FromTarget: true},
		Reads:     append(nomadCap("operator:read"), consulCap("operator:read")...),
		Writes:    append(nomadCap("management"), consulCap("operator:write")...),
		WriteAttr: "transfer",
		Wait:      WaitStrategy{Kind: WaitPoll, Interval: 5 * time.Second},
		Proves:    []Guarantee{ProvesLeaderNotTarget},
		Remedy:    RemedyTransferLeadership,
	})
}
