package lang

import "github.com/zclconf/go-cty/cty"

// ActionNomadJobRun is the catalog name of action "nomad_job_run".
const ActionNomadJobRun = "nomad_job_run"

func init() {
	addAction(ActionNomadJobRun, &ActionSpec{
		Doc:    "Registers a job from a jobspec file (the server parses it). nrun plan has the servers plan it and shows the job diff; the registration is refused if the job changed since that plan.",
		Effect: EffectJob, Target: TargetJob,
		Attrs: []AttrSpec{
			{Name: "jobspec", Type: cty.String, Required: true, Doc: "Path of the HCL jobspec, relative to the runbook directory."},
			{Name: "check_index", Type: cty.Number, Doc: "Only register if the job's modify index equals this (nomad job run -check-index; 0: only if the job does not exist). Default: the JobModifyIndex the plan's job diff was computed against, so a job changed between plan and apply is refused; when the plan has no job diff (made offline, or the jobspec is known only during apply), the index read right before registering."},
			{Name: "vars", Type: cty.Map(cty.String), Doc: "HCL2 jobspec variables (nomad job run -var)."},
		},
		Cluster: ClusterNomadClients,
		Targets: []TargetKind{TargetJob},
		Reads:   nomadCap("namespace:read-job", "namespace:parse-job"),
		Writes:  nomadCap("namespace:submit-job"),
		Probe:   ProbeJobInPlace,
		Preview: PreviewJob,
	})
}
