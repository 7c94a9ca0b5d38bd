package tfrun_test

import (
	"reflect"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/nrun-dev/nrun/tfrun"
)

func TestSummarize(t *testing.T) {
	rc := func(addr string, actions ...tfjson.Action) *tfjson.ResourceChange {
		return &tfjson.ResourceChange{Address: addr, Change: &tfjson.Change{Actions: actions}}
	}
	tests := map[string]struct {
		plan *tfjson.Plan
		want tfrun.PlanSummary
		line string
	}{
		"nil plan": {nil, tfrun.PlanSummary{}, "No changes."},
		"every action": {&tfjson.Plan{ResourceChanges: []*tfjson.ResourceChange{
			rc("b.new", tfjson.ActionCreate),
			rc("a.gone", tfjson.ActionDelete),
			rc("c.edit", tfjson.ActionUpdate),
			rc("d.swap", tfjson.ActionDelete, tfjson.ActionCreate),
			rc("e.swap2", tfjson.ActionCreate, tfjson.ActionDelete),
			rc("f.same", tfjson.ActionNoop),
			rc("g.data", tfjson.ActionRead),
			{Address: "h.nochange"},
		}}, tfrun.PlanSummary{Add: 3, Change: 1, Destroy: 3, Changes: []tfrun.Change{
			{Address: "a.gone", Action: "delete"},
			{Address: "b.new", Action: "create"},
			{Address: "c.edit", Action: "update"},
			{Address: "d.swap", Action: "replace"},
			{Address: "e.swap2", Action: "replace"},
			{Address: "g.data", Action: "read"},
		}}, "Plan: 3 to add, 1 to change, 3 to destroy."},
		"outputs only": {&tfjson.Plan{OutputChanges: map[string]*tfjson.Change{"x": {Actions: tfjson.Actions{tfjson.ActionUpdate}}}},
			tfrun.PlanSummary{OutputsChange: true, Outputs: []tfrun.OutputChange{{Name: "x", Action: "update"}}}, "No changes."},
		"output actions and sensitivity": {&tfjson.Plan{
			OutputChanges: map[string]*tfjson.Change{
				"new":       {Actions: tfjson.Actions{tfjson.ActionCreate}},
				"gone":      {Actions: tfjson.Actions{tfjson.ActionDelete}},
				"same":      {Actions: tfjson.Actions{tfjson.ActionNoop}},
				"secret":    {Actions: tfjson.Actions{tfjson.ActionUpdate}, AfterSensitive: true},
				"nested":    {Actions: tfjson.Actions{tfjson.ActionCreate}, AfterSensitive: map[string]any{"a": []any{false, true}}},
				"declared":  {Actions: tfjson.Actions{tfjson.ActionCreate}},
				"notsecret": {Actions: tfjson.Actions{tfjson.ActionCreate}, AfterSensitive: false},
			},
			Config: &tfjson.Config{RootModule: &tfjson.ConfigModule{Outputs: map[string]*tfjson.ConfigOutput{"declared": {Sensitive: true}}}},
		}, tfrun.PlanSummary{OutputsChange: true, Outputs: []tfrun.OutputChange{
			{Name: "declared", Action: "create", Sensitive: true},
			{Name: "gone", Action: "delete"},
			{Name: "nested", Action: "create", Sensitive: true},
			{Name: "new", Action: "create"},
			{Name: "notsecret", Action: "create"},
			{Name: "secret", Action: "update", Sensitive: true},
		}}, "No changes."},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := tfrun.Summarize(tc.plan)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			if got.String() != tc.line {
				t.Errorf("String() = %q, want %q", got.String(), tc.line)
			}
		})
	}
	if g := (tfrun.Change{Address: "x", Action: "replace"}).String(); g != "-/+ x" {
		t.Errorf("replace renders %q", g)
	}
}
