package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckServersVersion is the catalog name of check "servers_version".
const CheckServersVersion = "servers_version"

func init() {
	addCheck(CheckServersVersion, &CheckSpec{
		Doc: "Every server runs the given version.",
		Attrs: []AttrSpec{
			{Name: "version", Type: cty.String, Required: true, Doc: "The version, e.g. \"1.10.0\"."},
			{Name: "cluster", Type: cty.String, Doc: `"nomad" or "consul". Default nomad.`, check: checkOneOf("nomad", "consul")},
		},
		Cluster: ClusterRule{Default: ClusterNomadServers, Attr: "cluster"},
		Reads:   append(nomadCap("operator:read", "node:read"), consulCap("operator:read", "node:read")...),
		Wait:    WaitStrategy{Kind: WaitPoll, Interval: 5 * time.Second},
	})
}
