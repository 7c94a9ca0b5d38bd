package views

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
	"github.com/nrun-dev/nrun/tfrun"
)

const (
	terraformRunbook = "../planner/testdata/terraform/preview.nrun.hcl"
	terraformSecret  = "hunter2-s3cret"
)

// terraformPlan plans the fixture against the healthy inventory and runs
// the Terraform preview: with the real terraform on a copy of the
// fixture's configurations, or offline.
func terraformPlan(t *testing.T, offline bool) *planner.Plan {
	t.Helper()
	p := resolvePlan(t, terraformRunbook, nil, []string{"db_password=" + terraformSecret}, "healthy", false)
	rb, diags := lang.Load(terraformRunbook)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	inputs, diags := lang.InputValues(rb, []string{"db_password=" + terraformSecret}, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	opts := planner.PreviewOptions{Offline: offline}
	if !offline {
		if _, err := tfrun.Find(); err != nil {
			if sandboxtest.InCI() {
				t.Fatalf("CI is set and %v", err)
			}
			t.Skipf("skipping (set CI=true to make this a failure): %v", err)
		}
		opts.BaseDir = copyDir(t, filepath.Dir(terraformRunbook))
		opts.View = loadView(t, "healthy")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if d := planner.PreviewTerraform(ctx, rb, inputs, p, opts); len(d) > 0 {
		t.Fatalf("preview: %s", d.Error())
	}
	return p
}

// TestPlanTerraformViews renders a plan whose Terraform summary comes from
// the real terraform (step.up planned, step.wire and step.down known only
// after apply), and an offline one, in every form.
func TestPlanTerraformViews(t *testing.T) {
	for name, offline := range map[string]bool{"terraform_preview": false, "terraform_offline": true} {
		t.Run(name, func(t *testing.T) {
			p := terraformPlan(t, offline)
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
				out := buf.String()
				if strings.Contains(out, terraformSecret) {
					t.Errorf("%s: the sensitive variable's value is printed:\n%s", ext, out)
				}
				checkGolden(t, filepath.Join("plan", name+ext), buf.Bytes())
				if offline {
					if !strings.Contains(out, "inventory file (-inventory)") {
						t.Errorf("%s: the offline plan does not say why Terraform did not run:\n%s", ext, out)
					}
					continue
				}
				wants := []string{"Plan: 3 to add, 0 to change, 0 to destroy.", "terraform_data.member[1]", "step.up applies ./infra first"}
				if ext == ".json" {
					wants = []string{`"add": 3`, `"address": "terraform_data.member[1]"`, "step.up applies ./infra first"}
				}
				for _, want := range wants {
					if !strings.Contains(out, want) {
						t.Errorf("%s: %q is missing:\n%s", ext, want, out)
					}
				}
			}
		})
	}
}

func loadView(t *testing.T, name string) *cluster.View {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "inventory", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var v cluster.View
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

// copyDir copies src into a temporary directory: terraform init writes
// .terraform/ next to a configuration, which must not land in testdata.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
