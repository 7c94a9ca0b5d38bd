package lang

import "github.com/zclconf/go-cty/cty"

// ActionNomadRaftTransferLeadership is the catalog name of action "nomad_raft_transfer_leadership".
const ActionNomadRaftTransferLeadership = "nomad_raft_transfer_leadership"

func init() {
	addAction(ActionNomadRaftTransferLeadership, &ActionSpec{
		Doc:    "Transfers Raft leadership away from the current leader.",
		Effect: EffectLeadership, Target: TargetNomadServer, TargetAttr: "to",
		Attrs: []AttrSpec{
			{Name: "to", Type: cty.DynamicPseudoType, Objects: serverObjects, Doc: "The server that should become leader. When omitted Nomad picks any other voter."},
		},
		Cluster:        ClusterNomadServers,
		Targets:        []TargetKind{TargetNomadServer},
		TargetOptional: true,
		Reads:          nomadCap("operator:read"),
		Writes:         nomadCap("management"),
		Probe:          ProbeRepeat,
		RepeatSafe:     "transferring leadership again is harmless",
		Remedy:         RemedyTransferLeadership,
	})
}
