package executor

import (
	"testing"

	"github.com/nrun-dev/nrun/addrs"
	"github.com/nrun-dev/nrun/planner"
)

// A plan-time preview describes the cluster, not the work: a saved plan
// with a Terraform summary matches the plan apply makes again without one,
// while a changed argument still does not.
func TestPlanStructureIgnoresPreviews(t *testing.T) {
	mk := func(vars string, preview *planner.TerraformPreview) *planner.Plan {
		a, err := addrs.ParseInstance("step.up")
		if err != nil {
			t.Fatal(err)
		}
		s, err := addrs.ParseStep("step.up")
		if err != nil {
			t.Fatal(err)
		}
		return &planner.Plan{Instances: []*planner.Instance{{
			Addr: a, Step: s,
			Action: &planner.ActionPlan{Type: "terraform_apply", Effect: "create",
				Args: []planner.Arg{{Name: "vars", Value: vars, Known: true}}, Terraform: preview},
		}}, Waves: [][]string{{"step.up"}}}
	}
	plain := PlanStructure(mk("{ n = 2 }", nil))
	saved := mk("{ n = 2 }", &planner.TerraformPreview{Status: planner.TerraformPlanned, Add: 2})
	if got := PlanStructure(saved); got != plain {
		t.Error("a Terraform summary changes the plan's structure")
	}
	if saved.Instances[0].Action.Terraform == nil {
		t.Error("PlanStructure dropped the preview from the plan itself")
	}
	if PlanStructure(mk("{ n = 3 }", nil)) == plain {
		t.Error("a changed argument does not change the structure")
	}
}
