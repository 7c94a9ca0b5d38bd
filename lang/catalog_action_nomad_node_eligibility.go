package lang

import "github.com/zclconf/go-cty/cty"

// ActionNomadNodeEligibility is the catalog name of action "nomad_node_eligibility".
const ActionNomadNodeEligibility = "nomad_node_eligibility"

func init() {
	addAction(ActionNomadNodeEligibility, &ActionSpec{
		Doc:    "Marks a Nomad client node eligible or ineligible for scheduling.",
		Effect: EffectEligibility, Target: TargetNomadNode, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: nodeObjects, Doc: "The node: a node object or its name or ID. Defaults to the step's target."},
			{Name: "eligible", Type: cty.Bool, Required: true, Doc: "true to make the node eligible, false to make it ineligible."},
		},
		Cluster: ClusterNomadClients,
		Targets: []TargetKind{TargetNomadNode},
		Reads:   nomadCap("node:read"),
		Writes:  nomadCap("node:write"),
		Probe:   ProbeNodeEligibility,
	})
}
