package cluster

import (
	"testing"

	nomad "github.com/hashicorp/nomad/api"
)

func TestRenderJobDiff(t *testing.T) {
	d := &nomad.JobDiff{Type: "Edited", ID: "web",
		Fields: []*nomad.FieldDiff{{Type: "None", Name: "Priority", Old: "50", New: "50"}},
		TaskGroups: []*nomad.TaskGroupDiff{{Type: "Edited", Name: "web",
			Fields: []*nomad.FieldDiff{{Type: "Edited", Name: "Count", Old: "2", New: "3"}},
			Tasks: []*nomad.TaskDiff{{Type: "Edited", Name: "web", Annotations: []string{"forces create/destroy update"},
				Objects: []*nomad.ObjectDiff{{Type: "Edited", Name: "Config", Fields: []*nomad.FieldDiff{
					{Type: "Added", Name: "args[1]", New: "x"},
					{Type: "Deleted", Name: "args[2]", Old: "y \"q\""},
					{Type: "None", Name: "command", Old: "/bin/sh", New: "/bin/sh"},
				}}}}}},
			{Type: "None", Name: "untouched"},
		}}
	ann := &nomad.PlanAnnotations{DesiredTGUpdates: map[string]*nomad.DesiredUpdates{"web": {Place: 1, DestructiveUpdate: 2}}}
	want := `+/- Job: "web"
+/- Task Group: "web" (1 create, 2 create/destroy update)
  +/- Count: "2" => "3"
  +/- Task: "web" (forces create/destroy update)
    +/- Config {
      + args[1]: "x"
      - args[2]: "y \"q\""
    }
`
	if got := RenderJobDiff(d, ann); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if RenderJobDiff(nil, nil) != "" {
		t.Error("nil diff renders something")
	}
}

func TestVarFile(t *testing.T) {
	tests := map[string]struct {
		vars map[string]string
		want string
	}{
		"none":   {nil, ""},
		"sorted": {map[string]string{"b": "2", "a": "x"}, "a = \"x\"\nb = \"2\"\n"},
		"quoted": {map[string]string{"v": "say \"hi\" ${x}\n"}, "v = \"say \\\"hi\\\" $${x}\\n\"\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := varFile(tc.vars); got != tc.want {
				t.Errorf("got %q want %q", got, tc.want)
			}
		})
	}
}

func TestStatusOfNeedsPromotion(t *testing.T) {
	canary := func(placed, healthy int, promoted bool) *nomad.DeploymentState {
		ids := make([]string, placed)
		return &nomad.DeploymentState{DesiredCanaries: 1, DesiredTotal: 2, PlacedCanaries: ids, HealthyAllocs: healthy, Promoted: promoted}
	}
	tests := map[string]struct {
		status string
		groups map[string]*nomad.DeploymentState
		auto   map[string]bool
		want   bool
	}{
		"canary healthy":        {"running", map[string]*nomad.DeploymentState{"a": canary(1, 1, false)}, nil, true},
		"canary not yet placed": {"running", map[string]*nomad.DeploymentState{"a": canary(0, 0, false)}, nil, false},
		"canary unhealthy yet":  {"running", map[string]*nomad.DeploymentState{"a": canary(1, 0, false)}, nil, false},
		"already promoted":      {"running", map[string]*nomad.DeploymentState{"a": canary(1, 1, true)}, nil, false},
		"auto promote":          {"running", map[string]*nomad.DeploymentState{"a": canary(1, 1, false)}, map[string]bool{"a": true}, false},
		"one group still waits": {"running", map[string]*nomad.DeploymentState{"a": canary(1, 1, false), "b": canary(1, 0, false)}, nil, false},
		"no canaries":           {"running", map[string]*nomad.DeploymentState{"a": {DesiredTotal: 2}}, nil, false},
		"failed":                {"failed", map[string]*nomad.DeploymentState{"a": canary(1, 1, false)}, nil, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			d := &nomad.Deployment{ID: "d", Status: tc.status, TaskGroups: tc.groups}
			if got := statusOf(d, tc.auto).NeedsPromotion; got != tc.want {
				t.Errorf("NeedsPromotion = %v, want %v", got, tc.want)
			}
		})
	}
}
