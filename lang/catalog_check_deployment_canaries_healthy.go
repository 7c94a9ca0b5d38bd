package lang

import (
	"time"

	"github.com/zclconf/go-cty/cty"
)

// CheckDeploymentCanariesHealthy is the catalog name of check "deployment_canaries_healthy".
const CheckDeploymentCanariesHealthy = "deployment_canaries_healthy"

func init() {
	addCheck(CheckDeploymentCanariesHealthy, &CheckSpec{
		Doc:    "The deployment of the job's current version has placed all its canaries and every one is healthy, so it can be promoted (or it has nothing left to promote: its canaries are promoted, or it succeeded; a deployment without canaries, such as a new job's first, holds once it succeeds). A failed or cancelled deployment does not hold; as a wait it then fails at once, naming the deployment and, with auto_revert, the version the job was rolled back to. A wait follows the deployment with blocking queries.",
		Target: TargetJob, TargetAttr: "job",
		Attrs: []AttrSpec{
			{Name: "job", Type: cty.String, Required: true, Doc: "The job ID."},
		},
		Cluster: ClusterRule{Default: ClusterNomadClients},
		Reads:   nomadCap("namespace:read-job"),
		Wait:    WaitStrategy{Kind: WaitDeployment, Canaries: true, Interval: 5 * time.Second},
	})
}
