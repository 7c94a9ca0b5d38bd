package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckDeploymentSuccessful is the catalog name of check "deployment_successful".
const CheckDeploymentSuccessful = "deployment_successful"

func init() {
	addCheck(CheckDeploymentSuccessful, &CheckSpec{
		Doc:    "The job's latest deployment succeeded. A wait follows the deployment of the version this run registered (else the job's current version) with blocking queries and fails at once when that deployment fails or is cancelled, naming it and, with auto_revert, the version the job was rolled back to.",
		Target: TargetJob, TargetAttr: "job",
		Attrs: []AttrSpec{
			{Name: "job", Type: cty.String, Required: true, Doc: "The job ID."},
		},
		Cluster: ClusterRule{Default: ClusterNomadClients},
		Reads:   nomadCap("namespace:read-job"),
		Wait:    WaitStrategy{Kind: WaitDeployment, Interval: 5 * time.Second},
	})
}
