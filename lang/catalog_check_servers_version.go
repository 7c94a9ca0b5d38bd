package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckServersVersion is the catalog name of check "servers_version".
const CheckServersVersion = "servers_version"

func init() {
	addCheck(CheckServersVersion, &CheckSpec{
		Doc: "Every server runs the given version (version), or at least the given version by semantic version order (min). Set exactly one of them.",
		Attrs: []AttrSpec{
			{Name: "version", Type: cty.String, Doc: "The exact version, e.g. \"1.10.0\"."},
			{Name: "min", Type: cty.String, Doc: "The oldest version allowed, e.g. \"1.10.0\": \"1.10.2\" passes, \"1.9.4\" and \"1.10.0-rc.1\" do not (version_compare's order).", check: checkVersion},
			{Name: "cluster", Type: cty.String, Doc: `"nomad" or "consul". Default nomad.`, check: checkOneOf("nomad", "consul")},
		},
		ExactlyOne: []string{"version", "min"},
		Cluster:    ClusterRule{Default: ClusterNomadServers, Attr: "cluster"},
		Reads:      append(nomadCap("operator:read", "node:read"), consulCap("operator:read", "node:read")...),
		Wait:       WaitStrategy{Kind: WaitPoll, Interval: 5 * time.Second},
	})
}
