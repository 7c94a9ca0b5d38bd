package checks

import (
	"fmt"
	"sort"

	"github.com/nrun-dev/nrun/cluster"
)

// deploymentCanariesHealthy holds when the deployment of the job's current
// version has placed every canary it wants and each is healthy, so it can
// be promoted; or when it has nothing left to promote (every canary group
// promoted, or the deployment successful). A running deployment without
// canaries holds only once it succeeds. A failed or cancelled
// deployment does not hold, and says so: with auto_revert the job is back
// on its stable version.
func deploymentCanariesHealthy(a Args, t Target, v *cluster.View) Result {
	id, j, d, bad := jobDeployment("deployment_canaries_healthy", a, t, v)
	if bad != nil {
		return *bad
	}
	return CanariesHealthy(DeploymentObserved(id, j.Version, d), j.Version, d)
}

// CanariesHealthy judges one observation of the deployment of the job's
// version jobVersion; obs is the Observed text. The executor's blocking
// watch uses it too, so the wait and the precondition agree.
func CanariesHealthy(obs string, jobVersion uint64, d *cluster.Deployment) Result {
	switch {
	case d.JobVersion != jobVersion:
		return Result{Observed: obs, Reason: fmt.Sprintf("the latest deployment is for version %d, the job is at version %d; wait for the new deployment", d.JobVersion, jobVersion)}
	case d.Status == "successful":
		return Result{OK: true, Observed: obs}
	case d.Status == "failed" || d.Status == "cancelled":
		return Result{Observed: obs, Reason: fmt.Sprintf("the deployment %s: %s", d.Status, d.StatusDescription)}
	}
	canaries := false
	for _, name := range sortedGroupNames(d) {
		g := d.Groups[name]
		canaries = canaries || g.DesiredCanaries > 0
		if g.DesiredCanaries == 0 || g.Promoted {
			continue
		}
		if g.PlacedCanaries < g.DesiredCanaries {
			return Result{Observed: obs, Reason: fmt.Sprintf("group %s has placed %d of %d canaries", name, g.PlacedCanaries, g.DesiredCanaries)}
		}
		if g.HealthyAllocs < g.DesiredCanaries {
			return Result{Observed: obs, Reason: fmt.Sprintf("%d of %d canaries of group %s are healthy", g.HealthyAllocs, g.DesiredCanaries, name)}
		}
	}
	if !canaries {
		// A new job's first deployment, or an update block without
		// canary: there is nothing to promote, so it holds once done.
		return Result{Observed: obs, Reason: "the deployment places no canaries (a new job, or no canary in its update block); it holds once the deployment succeeds"}
	}
	return Result{OK: true, Observed: obs}
}

func sortedGroupNames(d *cluster.Deployment) []string {
	names := make([]string, 0, len(d.Groups))
	for n := range d.Groups {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DeploymentObserved is the Observed text of a deployment check:
// "job web v2: deployment 1a2b3c4d running (web 1/3 healthy, canaries 1/1)".
func DeploymentObserved(job string, version uint64, d *cluster.Deployment) string {
	return fmt.Sprintf("job %s v%d: deployment %s %s%s", job, version, shortID(d.ID), d.Status, groupSummary(d))
}
