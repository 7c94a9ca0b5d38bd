package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckServersHealthy is the catalog name of check "servers_healthy".
const CheckServersHealthy = "servers_healthy"

func init() {
	addCheck(CheckServersHealthy, &CheckSpec{
		Doc: "Autopilot reports every server healthy, and, when count is set, at least that many healthy voters.",
		Attrs: []AttrSpec{
			{Name: "count", Type: cty.Number, Doc: "Minimum number of healthy voters.", check: checkWholeNonNegative},
			{Name: "cluster", Type: cty.String, Doc: `"nomad" or "consul". Default nomad.`, check: checkOneOf("nomad", "consul")},
		},
		Cluster: ClusterRule{Default: ClusterNomadServers, Attr: "cluster"},
		Reads:   append(nomadCap("operator:read"), consulCap("operator:read")...),
		Wait:    WaitStrategy{Kind: WaitPoll, Interval: time.Second, Settle: true},
		Proves:  []Guarantee{ProvesHealthy, ProvesJoinedWithCount},
	})
}
