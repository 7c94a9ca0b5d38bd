package lang

import "github.com/zclconf/go-cty/cty"

// ActionConsulForceLeave is the catalog name of action "consul_force_leave".
const ActionConsulForceLeave = "consul_force_leave"

func init() {
	addAction(ActionConsulForceLeave, &ActionSpec{
		Doc:    "Forces a Consul node out of the gossip pool (consul force-leave). A running agent that is forced out simply rejoins, so an alive member is refused: stop its agent first and let gossip mark it failed.",
		Effect: EffectLeave, Target: TargetConsulServer, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: consulNodeObjects, Doc: "The Consul node: a Consul server, Nomad server or Nomad node object, or a node name. Defaults to the step's target."},
			{Name: "prune", Type: cty.Bool, Doc: "Also remove it from the member list (-prune). Default false."},
		},
		Cluster:    ClusterConsulServers,
		Targets:    []TargetKind{TargetConsulServer, TargetNomadServer, TargetNomadNode},
		Reads:      consulCap("node:read"),
		Writes:     consulCap("operator:write"),
		Probe:      ProbeRepeat,
		RepeatSafe: "the force-leave reads the member list first and sends nothing when the node has already left",
	})
}
