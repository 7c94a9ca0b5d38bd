package lang

import "github.com/zclconf/go-cty/cty"

// ActionConsulRaftTransferLeader is the catalog name of action "consul_raft_transfer_leader".
const ActionConsulRaftTransferLeader = "consul_raft_transfer_leader"

func init() {
	addAction(ActionConsulRaftTransferLeader, &ActionSpec{
		Doc:    "Moves Consul's Raft leadership off a server (consul operator raft transfer-leader) and waits until another server leads. Nothing is sent when the server does not lead.",
		Effect: EffectLeadership, Target: TargetConsulServer, TargetAttr: "server",
		Attrs: []AttrSpec{
			{Name: "server", Type: cty.DynamicPseudoType, Objects: consulServerObjects, Doc: "The server leadership moves off: a Consul server object, its name or its Raft ID. Defaults to the step's target; without either, off whichever server leads."},
			{Name: "to", Type: cty.DynamicPseudoType, Objects: consulServerObjects, Doc: "The server that should become leader. When omitted Consul picks another voter."},
		},
		Cluster:        ClusterConsulServers,
		Targets:        []TargetKind{TargetConsulServer},
		TargetOptional: true,
		Reads:          consulCap("operator:read"),
		Writes:         consulCap("operator:write"),
		Probe:          ProbeRepeat,
		RepeatSafe:     "it sends nothing when the server no longer leads",
		Remedy:         RemedyTransferLeadership,
	})
}
