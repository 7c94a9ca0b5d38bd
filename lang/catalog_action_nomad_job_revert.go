package lang

import "github.com/zclconf/go-cty/cty"

// ActionNomadJobRevert is the catalog name of action "nomad_job_revert".
const ActionNomadJobRevert = "nomad_job_revert"

func init() {
	addAction(ActionNomadJobRevert, &ActionSpec{
		Doc:    "Reverts a job to an earlier version.",
		Effect: EffectJob, Target: TargetJob, TargetAttr: "job",
		Attrs: []AttrSpec{
			{Name: "job", Type: cty.String, Required: true, Doc: "The job ID."},
			{Name: "version", Type: cty.Number, Required: true, Doc: "The job version to revert to.", check: checkWholeNonNegative},
		},
		Cluster:    ClusterNomadClients,
		Targets:    []TargetKind{TargetJob},
		Reads:      nomadCap("namespace:read-job"),
		Writes:     nomadCap("namespace:submit-job"),
		Probe:      ProbeRepeat,
		RepeatSafe: "the revert reads the job first and sends nothing when it already runs that version's definition",
	})
}
