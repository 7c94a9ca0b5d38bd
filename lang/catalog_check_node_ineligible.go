package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckNodeIneligible is the catalog name of check "node_ineligible".
const CheckNodeIneligible = "node_ineligible"

func init() {
	addCheck(CheckNodeIneligible, &CheckSpec{
		Doc:    "The client node is ineligible for scheduling.",
		Target: TargetNomadNode, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: nodeObjects, Doc: "The node. Defaults to the step's target."},
		},
		Cluster: ClusterRule{Default: ClusterNomadClients},
		Reads:   nomadCap("node:read"),
		Wait:    WaitStrategy{Kind: WaitNode, Interval: 5 * time.Second},
	})
}
