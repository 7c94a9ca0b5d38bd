package lang

import "github.com/zclconf/go-cty/cty"

// ActionConsulRaftRemovePeer is the catalog name of action "consul_raft_remove_peer".
const ActionConsulRaftRemovePeer = "consul_raft_remove_peer"

func init() {
	addAction(ActionConsulRaftRemovePeer, &ActionSpec{
		Doc:    "Removes a Consul server from the Raft peer set.",
		Effect: EffectRemovePeer, Target: TargetConsulServer, TargetAttr: "server",
		Attrs: []AttrSpec{
			{Name: "server", Type: cty.DynamicPseudoType, Objects: consulServerObjects, Doc: "The server: a Consul server object, its name or its Raft ID. Defaults to the step's target."},
		},
		Cluster: ClusterConsulServers,
		Targets: []TargetKind{TargetConsulServer},
		Reads:   consulCap("operator:read"),
		Writes:  consulCap("operator:write"),
		Probe:   ProbeRaftPeer,
	})
}
