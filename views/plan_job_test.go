package views

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/planner"
)

// canaryDiff is the diff a Nomad 1.10 server returned for web 1 -> 2
// (TestCanaryRollout in e2e prints the same lines), as RenderJobDiff
// renders it.
const canaryDiff = `+/- Job: "web"
+/- Task Group: "web" (1 canary, 3 ignore)
  +/- Task: "web" (forces create/destroy update)
    +/- Env[WEB_VERSION]: "1" => "2"
    +/- Config {
      +/- args[1]: "echo web version 1; exec sleep 3600" => "echo web version 2; exec sleep 3600"
    }
`

func canaryPlan(t *testing.T) (*planner.Plan, *planner.Instance) {
	t.Helper()
	c := planCases["job_canary"]
	p := resolvePlan(t, c.path, c.varFiles, c.vars, c.inventory, c.errors)
	deploy := p.Instance("step.deploy")
	if deploy == nil || deploy.Action == nil || deploy.Action.Type != "nomad_job_run" {
		t.Fatalf("no nomad_job_run step.deploy in the plan")
	}
	return p, deploy
}

func TestPlanJobPreview(t *testing.T) {
	cases := map[string]*planner.JobPreview{
		"job_canary_preview": {
			JobID: "web", Namespace: "default", JobModifyIndex: 24, DiffType: "Edited", Diff: canaryDiff,
			Groups: map[string]cluster.GroupUpdates{"web": {Canary: 1, Ignore: 3}},
		},
		"job_canary_new": {
			JobID: "web", Namespace: "default", JobModifyIndex: 0, DiffType: "Added", Diff: "+ Job: \"web\"\n+ Task Group: \"web\" (3 create)\n",
			Groups:           map[string]cluster.GroupUpdates{"web": {Place: 3}},
			FailedPlacements: []string{"web: 1 unplaced (2 nodes evaluated, 0 filtered, 2 exhausted)"},
			Warnings:         "1 warning:\n\n* Group \"web\" has no network block",
		},
	}
	for name, j := range cases {
		t.Run(name, func(t *testing.T) {
			p, deploy := canaryPlan(t)
			deploy.Action.Job = j
			forms := map[string]PlanView{
				".txt":  PlanHuman{Apply: "plan.nrunplan"},
				".md":   PlanMarkdown{Apply: "plan.nrunplan"},
				".json": PlanJSON{},
			}
			for ext, v := range forms {
				var buf bytes.Buffer
				if err := v.Plan(&buf, p); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, filepath.Join("plan", name+ext), buf.Bytes())
			}
			// The saved plan keeps the preview: apply registers with its
			// JobModifyIndex.
			var buf bytes.Buffer
			if err := (PlanJSON{}).Plan(&buf, p); err != nil {
				t.Fatal(err)
			}
			var back planner.Plan
			if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			got := back.Instance("step.deploy").Action.Job
			if !reflect.DeepEqual(got, j) {
				t.Errorf("preview after a JSON round trip = %+v, want %+v", got, j)
			}
			if idx, ok := got.CheckIndex(); !ok || idx != j.JobModifyIndex {
				t.Errorf("CheckIndex = %d, %v; want %d, true", idx, ok, j.JobModifyIndex)
			}
		})
	}
}

// An offline plan says that it has no job diff, and why; apply then
// registers with the index it reads itself.
func TestPlanJobPreviewOffline(t *testing.T) {
	p, deploy := canaryPlan(t)
	if d := planner.PreviewJobs(context.Background(), p, nil, "../runbooks"); len(d) != 0 {
		t.Fatalf("offline preview: %s", d.Error())
	}
	if deploy.Action.Job == nil || deploy.Action.Job.Unavailable != planner.OfflinePreview {
		t.Fatalf("offline preview = %+v", deploy.Action.Job)
	}
	if _, ok := deploy.Action.Job.CheckIndex(); ok {
		t.Error("an offline preview offers a check index")
	}
	for ext, v := range map[string]PlanView{".txt": PlanHuman{Apply: "plan.nrunplan"}, ".md": PlanMarkdown{Apply: "plan.nrunplan"}} {
		var buf bytes.Buffer
		if err := v.Plan(&buf, p); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, filepath.Join("plan", "job_canary_offline"+ext), buf.Bytes())
		if !strings.Contains(buf.String(), "job diff not available") {
			t.Errorf("%s does not say the job diff is not available", ext)
		}
	}
}

func TestPlanJobPreviewColor(t *testing.T) {
	p, deploy := canaryPlan(t)
	deploy.Action.Job = &planner.JobPreview{JobID: "web", JobModifyIndex: 24, DiffType: "Edited", Diff: canaryDiff}
	var buf bytes.Buffer
	if err := (PlanHuman{Color: true}).Plan(&buf, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "        \x1b[33m"+`    +/- Env[WEB_VERSION]: "1" => "2"`+"\x1b[0m") {
		t.Errorf("the edited line is not yellow:\n%q", buf.String())
	}
}
