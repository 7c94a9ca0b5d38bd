package checks

import (
	"testing"

	"github.com/nrun-dev/nrun/cluster"
)

func TestDeploymentCanariesHealthy(t *testing.T) {
	// A deployment whose canary is placed but not healthy yet is not in
	// the fixtures; build it.
	pending := &cluster.View{Nomad: &cluster.NomadView{Jobs: []cluster.Job{{
		ID: "web", Namespace: "default", Version: 2,
		Deployment: &cluster.Deployment{ID: "d1111111-x", Status: "running", JobVersion: 2, Groups: map[string]cluster.DeploymentGroup{
			"web": {DesiredTotal: 3, DesiredCanaries: 1, PlacedCanaries: 1, HealthyAllocs: 0},
		}},
	}}}}
	unplaced := &cluster.View{Nomad: &cluster.NomadView{Jobs: []cluster.Job{{
		ID: "web", Namespace: "default", Version: 2,
		Deployment: &cluster.Deployment{ID: "d2222222-x", Status: "running", JobVersion: 2, Groups: map[string]cluster.DeploymentGroup{
			"web": {DesiredTotal: 3, DesiredCanaries: 2, PlacedCanaries: 1, HealthyAllocs: 1},
		}},
	}}}}
	noCanary := &cluster.View{Nomad: &cluster.NomadView{Jobs: []cluster.Job{{
		ID: "web", Namespace: "default", Version: 0,
		Deployment: &cluster.Deployment{ID: "d3333333-x", Status: "running", JobVersion: 0, Groups: map[string]cluster.DeploymentGroup{
			"web": {DesiredTotal: 3, HealthyAllocs: 1},
		}},
	}}}}
	cases := map[string]struct {
		view *cluster.View
		args Args
		ok   bool
		want string
	}{
		"canary healthy, waiting for promotion": {
			view: loadView(t, "draining"), args: Args{Job: "api"}, ok: true,
			want: "deployment_canaries_healthy: job api v2: deployment d0000000 running (api 1/3 healthy, canaries 1/1): ok",
		},
		"canary not healthy yet": {
			view: pending, args: Args{Job: "web"},
			want: "deployment_canaries_healthy: job web v2: deployment d1111111 running (web 0/3 healthy, canaries 1/1): not ok: 0 of 1 canaries of group web are healthy",
		},
		"canaries not all placed": {
			view: unplaced, args: Args{Job: "web"},
			want: "deployment_canaries_healthy: job web v2: deployment d2222222 running (web 1/3 healthy, canaries 1/2): not ok: group web has placed 1 of 2 canaries",
		},
		"first deployment, no canaries": {
			view: noCanary, args: Args{Job: "web"},
			want: "deployment_canaries_healthy: job web v0: deployment d3333333 running (web 1/3 healthy): not ok: the deployment places no canaries (a new job, or no canary in its update block); it holds once the deployment succeeds",
		},
		"deployment successful": {
			view: loadView(t, "healthy3"), args: Args{Job: "web"}, ok: true,
			want: "deployment_canaries_healthy: job web v3: deployment d0000000 successful (web 2/2 healthy, canaries 1/1 promoted): ok",
		},
		"deployment failed and reverted": {
			view: loadView(t, "draining"), args: Args{Job: "bad"},
			want: "deployment_canaries_healthy: job bad v5: deployment d0000000 failed (bad 0/2 healthy): not ok: the deployment failed: Failed due to unhealthy allocations - rolling back to job version 4",
		},
		"deployment of an older version": {
			view: loadView(t, "draining"), args: Args{Job: "web"},
			want: "deployment_canaries_healthy: job web v4: deployment d0000000 successful (web 2/2 healthy): not ok: the latest deployment is for version 3, the job is at version 4; wait for the new deployment",
		},
		"job missing": {
			view: loadView(t, "draining"), args: Args{Job: "nope"},
			want: "deployment_canaries_healthy: job nope is not in the view: not ok: the job does not exist (yet), or the snapshot did not read it",
		},
		"no job": {
			view: loadView(t, "draining"),
			want: "deployment_canaries_healthy: not ok: deployment_canaries_healthy needs a job argument",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := Eval("deployment_canaries_healthy", tc.args, Target{}, tc.view)
			if r.OK != tc.ok || r.String() != tc.want {
				t.Errorf("got  %v %q\nwant %v %q", r.OK, r.String(), tc.ok, tc.want)
			}
		})
	}
}
