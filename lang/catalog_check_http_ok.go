package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckHttpOk is the catalog name of check "http_ok".
const CheckHttpOk = "http_ok"

func init() {
	addCheck(CheckHttpOk, &CheckSpec{
		Doc: "An HTTP GET of the URL answers with the expected status.",
		Attrs: []AttrSpec{
			{Name: "url", Type: cty.String, Required: true, Doc: "The URL."},
			{Name: "status", Type: cty.Number, Doc: "Expected status code. Default 200.", check: checkWholeNonNegative},
		},
		Cluster: ClusterRule{},
		Reads:   nil,
		Wait:    WaitStrategy{Kind: WaitProbe, Interval: 5 * time.Second},
	})
}
