package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckConsulMaintenance is the catalog name of check "consul_maintenance".
const CheckConsulMaintenance = "consul_maintenance"

func init() {
	addCheck(CheckConsulMaintenance, &CheckSpec{
		Doc:    "The Consul node's maintenance mode is as expected.",
		Target: TargetConsulServer, TargetAttr: "node",
		Attrs: []AttrSpec{
			{Name: "node", Type: cty.DynamicPseudoType, Objects: consulNodeObjects, Doc: "The Consul node. Defaults to the step's target."},
			{Name: "enabled", Type: cty.Bool, Doc: "Expected state. Default true."},
		},
		Cluster: ClusterRule{Default: ClusterConsulServers},
		Reads:   consulCap("node:read", "service:read"),
		Wait:    WaitStrategy{Kind: WaitConsulNode, Interval: 5 * time.Second},
	})
}
