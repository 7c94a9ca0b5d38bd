package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckNodeDrained is the catalog name of check "node_drained".
const CheckNodeDrained = "node_drained"

func init() {
	addCheck(CheckNodeDrained, &CheckSpec{
		Doc:    "The client node's last drain is complete and no non-terminal allocations remain on it other than system jobs' (a drain can report complete before its allocations have stopped).",
		Target: TargetNomadNode, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: nodeObjects, Doc: "The node. Defaults to the step's target."},
		},
		Cluster: ClusterRule{Default: ClusterNomadClients},
		Reads:   nomadCap("node:read", "namespace:*:read-job"),
		Wait:    WaitStrategy{Kind: WaitNodeAllocs, Interval: 5 * time.Second},
		Proves:  []Guarantee{ProvesDrained},
	})
}
