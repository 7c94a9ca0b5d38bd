package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckNodeReady is the catalog name of check "node_ready".
const CheckNodeReady = "node_ready"

func init() {
	addCheck(CheckNodeReady, &CheckSpec{
		Doc:    "The client node's status is ready. As a wait after the step's action when that action restarts, stops, starts, creates or destroys the agent (its effect), it holds only on a node record the agent registered after the action began: newer than the record read right before the action (by the servers' own status time; the same second counts only with another status), or, when that record could not be read (a resume), with a status time in a later second than the action began in on nrun's clock. The record from before a restart still reads ready until the servers miss a heartbeat, and cannot pass. As a precondition, or after an action that leaves the agent running (an eligibility change, a drain), it reads the current record.",
		Target: TargetNomadNode, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: nodeObjects, Doc: "The node. Defaults to the step's target."},
		},
		Cluster: ClusterRule{Default: ClusterNomadClients},
		Reads:   nomadCap("node:read"),
		Wait:    WaitStrategy{Kind: WaitNode, Interval: 5 * time.Second, Reregistered: true},
	})
}
