package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckNodeReady is the catalog name of check "node_ready".
const CheckNodeReady = "node_ready"

func init() {
	addCheck(CheckNodeReady, &CheckSpec{
		Doc:    "The client node's status is ready.",
		Target: TargetNomadNode, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: nodeObjects, Doc: "The node. Defaults to the step's target."},
		},
		Cluster: ClusterRule{Default: ClusterNomadClients},
		Reads:   nomadCap("node:read"),
		Wait:    WaitStrategy{Kind: WaitNode, Interval: 5 * time.Second},
	})
}
