package lang

import (
	"time"

	version "github.com/hashicorp/go-version"

	"github.com/zclconf/go-cty/cty"
)

// CheckNodeVersion is the catalog name of check "node_version".
const CheckNodeVersion = "node_version"

func init() {
	addCheck(CheckNodeVersion, &CheckSpec{
		Doc:    "The client node's agent reports at least the given version (semantic version order: \"1.10.2\" < \"1.10.10\"), and the node is ready. As a wait after an action of the step that restarts, stops, starts, creates or destroys the agent, it holds only on a node record the agent registered after the action began, as for node_ready, so the record from before a restart cannot pass; as a precondition, or after an action that leaves the agent running, it reads the current record.",
		Target: TargetNomadNode, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: nodeObjects, Doc: "The node. Defaults to the step's target."},
			{Name: "version", Type: cty.String, Required: true, Doc: "The least version, e.g. \"1.10.0\".", check: checkVersion},
		},
		Cluster: ClusterRule{Default: ClusterNomadClients},
		Reads:   nomadCap("node:read"),
		Wait:    WaitStrategy{Kind: WaitNode, Interval: 5 * time.Second, Reregistered: true},
	})
}

// checkVersion accepts what hashicorp/go-version parses.
func checkVersion(v cty.Value) string {
	if !v.IsKnown() || v.IsNull() || !v.Type().Equals(cty.String) {
		return ""
	}
	if _, err := version.NewVersion(v.AsString()); err != nil {
		return "The value must be a version such as \"1.10.0\"."
	}
	return ""
}
