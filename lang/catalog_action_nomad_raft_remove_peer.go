package lang

import "github.com/zclconf/go-cty/cty"

// ActionNomadRaftRemovePeer is the catalog name of action "nomad_raft_remove_peer".
const ActionNomadRaftRemovePeer = "nomad_raft_remove_peer"

func init() {
	addAction(ActionNomadRaftRemovePeer, &ActionSpec{
		Doc:    "Removes a Nomad server from the Raft peer set.",
		Effect: EffectRemovePeer, Target: TargetNomadServer, TargetAttr: "server",
		Attrs: []AttrSpec{
			{Name: "server", Type: cty.DynamicPseudoType, Objects: serverObjects, Doc: "The server: a server object, its name or its Raft ID. Defaults to the step's target."},
		},
		Cluster: ClusterNomadServers,
		Targets: []TargetKind{TargetNomadServer},
		Reads:   nomadCap("operator:read"),
		Writes:  nomadCap("management"),
		Probe:   ProbeRaftPeer,
	})
}
