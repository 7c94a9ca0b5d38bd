package executor

import (
	"testing"

	"github.com/nrun-dev/nrun/addrs"
	"github.com/nrun-dev/nrun/planner"
)

// A job preview is observed at plan time: a saved plan with one and a
// plan made afresh without one (or with another diff) describe the same
// work, but a changed action argument does not.
func TestPlanStructureIgnoresJobPreview(t *testing.T) {
	mk := func(job *planner.JobPreview, vars string) *planner.Plan {
		a, err := addrs.ParseInstance("step.deploy")
		if err != nil {
			t.Fatal(err)
		}
		s, err := addrs.ParseStep("step.deploy")
		if err != nil {
			t.Fatal(err)
		}
		return &planner.Plan{Instances: []*planner.Instance{{
			Addr: a, Step: s,
			Action: &planner.ActionPlan{Type: "nomad_job_run", Effect: "job", Job: job, Args: []planner.Arg{
				{Name: "jobspec", Value: `"jobs/web.nomad.hcl"`, Known: true},
				{Name: "vars", Value: vars, Known: true},
			}},
		}}, Waves: [][]string{{"step.deploy"}}}
	}
	saved := mk(&planner.JobPreview{JobID: "web", JobModifyIndex: 24, DiffType: "Edited", Diff: "+/- Job: \"web\"\n"}, `{ version = "2" }`)
	fresh := mk(nil, `{ version = "2" }`)
	other := mk(&planner.JobPreview{JobID: "web", JobModifyIndex: 30, DiffType: "None"}, `{ version = "2" }`)
	changed := mk(nil, `{ version = "3" }`)
	if PlanStructure(saved) != PlanStructure(fresh) || PlanStructure(saved) != PlanStructure(other) {
		t.Error("the job preview changes the plan's structure digest")
	}
	if PlanStructure(saved) == PlanStructure(changed) {
		t.Error("a changed job variable does not change the plan's structure digest")
	}
	if saved.Instances[0].Action.Job == nil {
		t.Error("PlanStructure dropped the saved plan's preview")
	}
}
