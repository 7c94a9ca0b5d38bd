package lang

import "github.com/zclconf/go-cty/cty"

// ActionNomadNodeDrain is the catalog name of action "nomad_node_drain".
const ActionNomadNodeDrain = "nomad_node_drain"

func init() {
	addAction(ActionNomadNodeDrain, &ActionSpec{
		Doc:    "Drains a Nomad client node and waits until the drain completes.",
		Effect: EffectDrain, Target: TargetNomadNode, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: nodeObjects, Doc: "The node to drain: a node object or its name or ID. Defaults to the step's target."},
			{Name: "deadline", Type: cty.String, Duration: true, Doc: "How long allocations may take to migrate before they are stopped (Nomad's -deadline). Default 1h."},
			{Name: "ignore_system_jobs", Type: cty.Bool, Doc: "Leave system jobs running on the node. Default false."},
			{Name: "force", Type: cty.Bool, Doc: "Stop allocations at once instead of migrating them. Default false."},
		},
		Cluster:    ClusterNomadClients,
		Targets:    []TargetKind{TargetNomadNode},
		Reads:      nomadCap("node:read"),
		Writes:     nomadCap("node:write"),
		Probe:      ProbeRepeat,
		RepeatSafe: "the drain action resumes an existing drain instead of starting a new one",
	})
}
