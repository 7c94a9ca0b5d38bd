package lang

import "github.com/zclconf/go-cty/cty"

// ActionConsulMaintenance is the catalog name of action "consul_maintenance".
const ActionConsulMaintenance = "consul_maintenance"

func init() {
	addAction(ActionConsulMaintenance, &ActionSpec{
		Doc:    "Enables or disables Consul node maintenance mode. Node maintenance is set through the node's own Consul agent; nrun asks that agent its node name first and refuses to act when it is another node. It does not touch Raft: a Consul or Nomad server in maintenance is still a peer.",
		Effect: EffectMaintenance, Target: TargetConsulServer, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: consulNodeObjects, Doc: "The Consul node: a Consul server, Nomad server or Nomad node object, or a node name. A Nomad server's name loses its region (\"s1.global\" is node s1). Defaults to the step's target."},
			{Name: "agent", Type: cty.String, Doc: "HTTP address of the node's own Consul agent, \"host:port\" or a URL such as \"https://10.0.0.5:8501\". Default: the node's gossip address with the port and scheme of the configured Consul address, right when every host runs its agent on the same port.", check: checkAgentAddress},
			{Name: "enable", Type: cty.Bool, Doc: "true to enter maintenance, false to leave it. Default true."},
			{Name: "reason", Type: cty.String, Doc: "Reason recorded with the maintenance flag."},
		},
		Cluster:    ClusterConsulServers,
		Targets:    []TargetKind{TargetConsulServer, TargetNomadServer, TargetNomadNode},
		Reads:      consulCap("agent:read", "node:read"),
		Writes:     consulCap("node:write"),
		Probe:      ProbeRepeat,
		RepeatSafe: "setting maintenance reads the agent's maintenance check first and sends nothing when it already matches",
	})
}
