package views

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

// planCases are planned from the inventories in testdata/inventory at the
// repository root and rendered in every form. Paths are relative to views/.
var planCases = map[string]struct {
	path      string
	varFiles  []string
	vars      []string
	inventory string
	// errors: the plan is refused (an error diagnostic is expected).
	errors bool
}{
	"rolling_upgrade":        {path: "../runbooks/nomad-server-rolling-upgrade.nrun.hcl", varFiles: []string{"../runbooks/sandbox.nrunvars.hcl"}, inventory: "healthy"},
	"rolling_upgrade_single": {path: "../runbooks/nomad-server-rolling-upgrade.nrun.hcl", varFiles: []string{"../runbooks/sandbox.nrunvars.hcl"}, inventory: "single", errors: true},
	"drain_node_pool":        {path: "../runbooks/drain-node-pool.nrun.hcl", inventory: "healthy"},
	"drain_node_down":        {path: "../runbooks/drain-node-pool.nrun.hcl", inventory: "node_down"},
	"drain_empty":            {path: "../runbooks/drain-node-pool.nrun.hcl", vars: []string{"node_pool=gpu"}, inventory: "healthy"},
	"blue_green":             {path: "../runbooks/blue-green-image-migration.nrun.hcl", inventory: "leader_filtered"},
	"job_canary":             {path: "../runbooks/job-canary-rollout.nrun.hcl", vars: []string{"version=2"}, inventory: "healthy"},
	"leader_filtered":        {path: "../planner/testdata/plans/leader_filtered.nrun.hcl", inventory: "leader_filtered"},
	"features":               {path: "../planner/testdata/plans/features.nrun.hcl", vars: []string{"token=s3cr3t-t0ken"}, inventory: "healthy"},
	"enabled":                {path: "../planner/testdata/plans/enabled.nrun.hcl", inventory: "healthy"},
	"rollback":               {path: "../runbooks/nomad-server-rollback.nrun.hcl", varFiles: []string{"../runbooks/sandbox.nrunvars.hcl"}, vars: []string{"snapshot_path=../planner/testdata/safety/snapshots/nomad.snap"}, inventory: "upgrade_failed"},
}

func resolvePlan(t *testing.T, path string, varFiles, vars []string, inventory string, wantErrors bool) *planner.Plan {
	t.Helper()
	rb, diags := lang.Load(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	inputs, diags := lang.InputValues(rb, vars, varFiles)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	b, err := os.ReadFile(filepath.Join("..", "testdata", "inventory", inventory+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var v cluster.View
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	// A fixed salt: the goldens compare bytes, and the salt is random
	// otherwise.
	// The inventory path as nrun plan -inventory records it, relative to
	// where the command ran (the repository root).
	p, diags := planner.Resolve(rb, inputs, &v, planner.ResolveOptions{Salt: []byte("golden"), Inventory: "testdata/inventory/" + inventory + ".json"})
	if diags.HasErrors() != wantErrors {
		t.Fatalf("resolve: want errors %v, got %s", wantErrors, diags.Error())
	}
	return p
}

func TestPlanViews(t *testing.T) {
	for name, tc := range planCases {
		t.Run(name, func(t *testing.T) {
			p := resolvePlan(t, tc.path, tc.varFiles, tc.vars, tc.inventory, tc.errors)
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
		})
	}
}

func TestPlanHumanColor(t *testing.T) {
	c := planCases["rolling_upgrade_single"]
	p := resolvePlan(t, c.path, c.varFiles, c.vars, c.inventory, c.errors)
	var buf bytes.Buffer
	if err := (PlanHuman{Color: true, Apply: "../runbooks/nomad-server-rolling-upgrade.nrun.hcl"}).Plan(&buf, p); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("plan", "rolling_upgrade_single_color.txt"), buf.Bytes())
	if !strings.Contains(buf.String(), "\x1b[") {
		t.Error("colour was asked for but the output has no escape codes")
	}
	var plain bytes.Buffer
	if err := (PlanHuman{}).Plan(&plain, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Error("escape codes without colour")
	}
}

// The JSON form is the saved plan file: it must read back into the same
// plan, and the sensitive value must not be in it.
func TestPlanJSONRoundTrip(t *testing.T) {
	c := planCases["features"]
	p := resolvePlan(t, c.path, c.varFiles, c.vars, c.inventory, c.errors)
	var buf bytes.Buffer
	if err := (PlanJSON{}).Plan(&buf, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "s3cr3t-t0ken") {
		t.Fatal("the sensitive variable's value is in the plan JSON")
	}
	var back planner.Plan
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := (PlanJSON{}).Plan(&again, &back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Errorf("plan JSON does not survive a round trip:\n%s\n---\n%s", buf.String(), again.String())
	}
}

// A big plan's Markdown stays small enough for a pull request comment
// (GitHub allows 65,536 characters) while its summary stays complete.
func TestPlanMarkdownCapped(t *testing.T) {
	c := planCases["blue_green"]
	p := resolvePlan(t, c.path, c.varFiles, c.vars, c.inventory, c.errors)
	var buf bytes.Buffer
	if err := (PlanMarkdown{MaxInstances: 2}).Plan(&buf, p); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{SummaryLine(p), "…and 51 more; `nrun plan -json` lists them all.", "…and 51 more.", "…and 35 more waves.", `step.blue_maintenance["green-s2.global"]`, "- …and 7 more instances that would block now."} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "step.verify") || strings.Contains(out, `step.blue_retire["green-s3.global"]`) {
		t.Error("instances past the cap are listed")
	}
}

// The header counts client nodes only when the snapshot read them: a plan
// whose runbook is about servers alone must not claim an empty cluster.
func TestPlanHumanNodeCount(t *testing.T) {
	c := planCases["rolling_upgrade_single"]
	p := resolvePlan(t, c.path, c.varFiles, c.vars, c.inventory, c.errors)
	if p.Cluster.Nomad == nil {
		t.Fatal("plan has no Nomad cluster summary")
	}
	for nodes, want := range map[int]string{0: "", 2: ", 2 client nodes"} {
		p.Cluster.Nomad.Nodes = nodes
		var buf bytes.Buffer
		if err := (PlanHuman{}).Plan(&buf, p); err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(buf.String(), "client node")
		if got != (want != "") || (want != "" && !strings.Contains(buf.String(), want)) {
			t.Errorf("Nodes=%d: want %q in the header, got:\n%s", nodes, want, buf.String())
		}
	}
}

// A plan that could not be made still gives CI a comment to post: the
// same marker as the plan's, and the diagnostics in a fence that their
// own backticks cannot close.
func TestPlanMarkdownFailed(t *testing.T) {
	src := []byte("step \"a\" {\n  action \"sleep\" { duration = var.d }\n}\n")
	diags := hcl.Diagnostics{
		{Severity: hcl.DiagError, Summary: "Reference to undeclared input variable", Detail: "There is no variable named \"d\". Declare it with a ```variable \"d\" {}``` block.", Subject: &hcl.Range{Filename: "main.nrun.hcl", Start: hcl.Pos{Line: 2, Column: 34, Byte: 45}, End: hcl.Pos{Line: 2, Column: 39, Byte: 50}}},
		{Severity: hcl.DiagError, Summary: "Cannot read the cluster", Detail: "Nomad at http://127.0.0.1:4646 did not answer. Set NOMAD_ADDR."},
	}
	files := map[string]*hcl.File{"main.nrun.hcl": {Bytes: src}}
	var buf bytes.Buffer
	if err := PlanMarkdownFailed(&buf, "upgrade", diags, files); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("plan", "failed.md"), buf.Bytes())
	if first, _, _ := strings.Cut(buf.String(), "\n"); first != MarkdownMarker("upgrade") {
		t.Errorf("first line %q, want the marker", first)
	}
}

func TestMarkdownMarker(t *testing.T) {
	tests := map[string]struct{ name, want string }{
		"plain":       {"upgrade", "<!-- nrun-plan: upgrade -->"},
		"paths":       {"a.nrun.hcl, b.nrun.hcl", "<!-- nrun-plan: a.nrun.hcl, b.nrun.hcl -->"},
		"double dash": {"up--grade---x", "<!-- nrun-plan: up-grade-x -->"},
		"newline":     {"two\nlines", "<!-- nrun-plan: two lines -->"},
		"closing":     {"x -->", "<!-- nrun-plan: x -> -->"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := MarkdownMarker(tc.name); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMDCode(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"plain":    {"a b", "`a b`"},
		"backtick": {"a`b", "`` a`b ``"},
		"run":      {"``x", "``` ``x ```"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := mdCode(tc.in); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// The Markdown says where the cluster view came from and lists the
// variables, never a sensitive value.
func TestPlanMarkdownSourceAndVariables(t *testing.T) {
	c := planCases["features"]
	p := resolvePlan(t, c.path, c.varFiles, c.vars, c.inventory, c.errors)
	var buf bytes.Buffer
	if err := (PlanMarkdown{}).Plan(&buf, p); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"Planned against the inventory file `testdata/inventory/healthy.json` (not the live cluster), read at ", "| `token` | (sensitive) |"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cr3t-t0ken") {
		t.Error("the sensitive value is in the Markdown")
	}
	p.Cluster.Source, p.Cluster.Inventory = planner.SourceLive, ""
	buf.Reset()
	if err := (PlanMarkdown{}).Plan(&buf, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "Planned against the live cluster, read at ") {
		t.Errorf("a live plan does not say so:\n%s", buf.String())
	}
}

// TestPlanIdentities: the human plan names the tokens the preflight
// checked, never a secret.
func TestPlanIdentities(t *testing.T) {
	var b strings.Builder
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	writeIdentities(&b, []planner.Identity{
		{System: "nomad", AccessorID: "a-1", Policies: []string{"nrun-drain"}, ExpirationTime: &exp},
		{System: "consul", AccessorID: "c-1", Management: true},
	})
	want := "Nomad token checked: accessor a-1, policies nrun-drain; expires 2030-01-02 03:04:05 UTC.\nConsul token checked: accessor c-1, management.\n\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	writeIdentities(&b, []planner.Identity{{System: "nomad", ACLDisabled: true}})
	if b.String() != "Nomad ACLs are disabled: no token checked.\n\n" {
		t.Errorf("disabled: %q", b.String())
	}
}
