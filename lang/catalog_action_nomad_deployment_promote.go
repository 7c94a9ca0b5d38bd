package lang

import "github.com/zclconf/go-cty/cty"

// ActionNomadDeploymentPromote is the catalog name of action "nomad_deployment_promote".
const ActionNomadDeploymentPromote = "nomad_deployment_promote"

func init() {
	addAction(ActionNomadDeploymentPromote, &ActionSpec{
		Doc:    "Promotes the canaries of the deployment of the job version a nomad_job_run of this run registered (else the job's current version), first waiting (within the step's timeout) until those canaries are healthy. Promoting an already promoted deployment sends nothing; a deployment that failed (or that auto_revert rolled back) fails the step, naming it.",
		Effect: EffectJob, Target: TargetJob, TargetAttr: "job",
		Attrs: []AttrSpec{
			{Name: "job", Type: cty.String, Required: true, Doc: "The job ID."},
			{Name: "groups", Type: cty.List(cty.String), Doc: "Promote only these task groups. Default: all."},
		},
		Cluster:    ClusterNomadClients,
		Targets:    []TargetKind{TargetJob},
		Reads:      nomadCap("namespace:read-job"),
		Writes:     nomadCap("namespace:submit-job"),
		Probe:      ProbeRepeat,
		RepeatSafe: "the promotion waits for the current version's deployment and sends nothing when it is already promoted or successful",
	})
}
