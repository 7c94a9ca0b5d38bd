package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckNodeReady is the catalog name of check "node_ready".
const CheckNodeReady = "node_ready"

func init() {
	addCheck(CheckNodeReady, &CheckSpec{
		Doc:    "The client node's status is ready. As a wait after the step's action when that action restarts, stops, starts, creates or destroys the agent (its effect), it holds only on a node record whose status changed after the action began, in a later second (Nomad keeps the time in whole seconds, so a change in the same second could be the old record's): proof that the agent registered again. The record from before a restart still reads ready until the servers miss a heartbeat, and cannot pass. As a precondition, or after an action that leaves the agent running (an eligibility change), it reads the current record. nrun's clock and the servers' are compared: keep them in sync (NTP); a server clock behind nrun's makes the wait time out, never pass early.",
		Target: TargetNomadNode, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: nodeObjects, Doc: "The node. Defaults to the step's target."},
		},
		Cluster: ClusterRule{Default: ClusterNomadClients},
		Reads:   nomadCap("node:read"),
		Wait:    WaitStrategy{Kind: WaitNode, Interval: 5 * time.Second, Reregistered: true},
	})
}
