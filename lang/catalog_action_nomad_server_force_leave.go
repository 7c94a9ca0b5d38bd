package lang

import "github.com/zclconf/go-cty/cty"

// ActionNomadServerForceLeave is the catalog name of action "nomad_server_force_leave".
const ActionNomadServerForceLeave = "nomad_server_force_leave"

func init() {
	addAction(ActionNomadServerForceLeave, &ActionSpec{
		Doc:    "Forces a Nomad server out of the gossip pool (nomad server force-leave).",
		Effect: EffectLeave, Target: TargetNomadServer, TargetAttr: "server",
		Attrs: []AttrSpec{
			{Name: "server", Type: cty.DynamicPseudoType, Objects: serverObjects, Doc: "The server: a server object or its name. Defaults to the step's target."},
			{Name: "prune", Type: cty.Bool, Doc: "Also remove it from the member list (-prune). Default false."},
		},
		Cluster: ClusterNomadServers,
		Targets: []TargetKind{TargetNomadServer},
		Reads:   nomadCap("node:read", "operator:read"),
		Writes:  nomadCap("agent:write"),
		Probe:   ProbeGossipMember,
	})
}
