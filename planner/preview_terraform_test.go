package planner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
	"github.com/nrun-dev/nrun/tfrun"
)

const (
	previewRunbook = "testdata/terraform/preview.nrun.hcl"
	previewSecret  = "hunter2-s3cret"
)

// needTerraform skips without a terraform binary (fails in CI, where a
// missing binary must not pass by skipping).
func needTerraform(t *testing.T) {
	t.Helper()
	if _, err := tfrun.Find(); err != nil {
		if sandboxtest.InCI() {
			t.Fatalf("CI is set and %v", err)
		}
		t.Skipf("skipping (set CI=true to make this a failure): %v", err)
	}
}

// copyTerraformFixture copies the fixture's configurations to a temporary
// directory, the base dir of the preview: terraform init writes
// .terraform/ and a lock file next to the configuration.
func copyTerraformFixture(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	src := filepath.Dir(previewRunbook)
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

// previewPlan resolves the fixture against the healthy inventory and runs
// PreviewTerraform with opts (BaseDir and View filled in when empty).
func previewPlan(t *testing.T, opts PreviewOptions) (*Plan, hcl.Diagnostics) {
	t.Helper()
	rb, diags := lang.Load(previewRunbook)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	inputs, diags := lang.InputValues(rb, []string{"db_password=" + previewSecret}, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	view := loadInventory(t, "healthy")
	p, diags := Resolve(rb, inputs, view, ResolveOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if opts.View == nil && !opts.Offline {
		opts.View = view
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	return p, PreviewTerraform(ctx, rb, inputs, p, opts)
}

func previewOf(t *testing.T, p *Plan, addr string) *TerraformPreview {
	t.Helper()
	in := p.Instance(addr)
	if in == nil || in.Action == nil {
		t.Fatalf("no instance %s with an action", addr)
	}
	if in.Action.Terraform == nil {
		t.Fatalf("%s has no Terraform preview", addr)
	}
	return in.Action.Terraform
}

// noSecret fails when the sensitive variable's value is anywhere in the
// plan's JSON.
func noSecret(t *testing.T, p *Plan) {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), previewSecret) {
		t.Errorf("the sensitive variable's value is in the plan:\n%s", b)
	}
}

// TestPreviewTerraform runs the real terraform on the fixture: step.up is
// planned (two members and the credentials to create, two outputs of which
// one is sensitive), step.wire's variables come from step.up's outputs and
// step.down applies ./infra after step.up, so both are deferred.
func TestPreviewTerraform(t *testing.T) {
	needTerraform(t)
	p, diags := previewPlan(t, PreviewOptions{BaseDir: copyTerraformFixture(t)})
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %s", diags.Error())
	}
	up := previewOf(t, p, "step.up")
	want := &TerraformPreview{
		Dir: "./infra", Status: TerraformPlanned, Add: 3,
		Changes: []TerraformChange{
			{Address: "terraform_data.credentials", Action: "create"},
			{Address: "terraform_data.member[0]", Action: "create"},
			{Address: "terraform_data.member[1]", Action: "create"},
		},
		Outputs: []TerraformOutputChange{
			{Name: "members", Action: "create"},
			{Name: "password", Action: "create", Sensitive: true},
		},
	}
	if !reflect.DeepEqual(up, want) {
		t.Errorf("step.up:\ngot  %+v\nwant %+v", up, want)
	}
	if got := up.SummaryLine(); got != "Plan: 3 to add, 0 to change, 0 to destroy." {
		t.Errorf("summary line %q", got)
	}

	wire := previewOf(t, p, "step.wire")
	if wire.Status != TerraformDeferred || !strings.Contains(wire.Reason, "only while applying") {
		t.Errorf("step.wire: want deferred because its vars use step.up's outputs, got %+v", wire)
	}
	down := previewOf(t, p, "step.down")
	if down.Status != TerraformDeferred || !strings.Contains(down.Reason, "step.up applies ./infra first") {
		t.Errorf("step.down: want deferred behind step.up, got %+v", down)
	}
	noSecret(t, p)

	// Nothing was applied: the configuration has no state.
	if _, err := os.Stat(filepath.Join(filepath.Dir(previewRunbook), "infra", ".terraform")); err == nil {
		t.Error("terraform init ran in the repository's testdata instead of the base dir")
	}
}

func TestPreviewTerraformOffline(t *testing.T) {
	p, diags := previewPlan(t, PreviewOptions{Offline: true, Terraform: &tfrun.Terraform{}})
	if len(diags) > 0 {
		t.Fatalf("diagnostics: %s", diags.Error())
	}
	for _, addr := range []string{"step.up", "step.wire", "step.down"} {
		pv := previewOf(t, p, addr)
		if pv.Status != TerraformOffline || !strings.Contains(pv.Reason, "-inventory") {
			t.Errorf("%s: want offline, saying -inventory, got %+v", addr, pv)
		}
	}
}

// A failed terraform plan is a warning on the action, recorded in the plan
// too, with the error and without the secret.
func TestPreviewTerraformFailed(t *testing.T) {
	tests := map[string]struct {
		setup func(t *testing.T, base string) *tfrun.Terraform
		want  string
	}{
		"no terraform binary": {
			setup: func(t *testing.T, base string) *tfrun.Terraform { return &tfrun.Terraform{} },
			want:  "no terraform binary",
		},
		"invalid configuration": {
			setup: func(t *testing.T, base string) *tfrun.Terraform {
				needTerraform(t)
				bad := `resource "terraform_data" "x" { input = var.password ` // unclosed
				if err := os.WriteFile(filepath.Join(base, "infra", "main.tf"), []byte(bad), 0o644); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			want: "exit status 1: Unclosed configuration block (on main.tf line 1",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			base := copyTerraformFixture(t)
			p, diags := previewPlan(t, PreviewOptions{BaseDir: base, Terraform: tc.setup(t, base)})
			up := previewOf(t, p, "step.up")
			if up.Status != TerraformFailed || !strings.Contains(up.Reason, tc.want) {
				t.Errorf("step.up: want failed with %q, got %+v", tc.want, up)
			}
			if len(diags) != 1 || diags[0].Severity != hcl.DiagWarning || diags[0].Subject == nil || diags[0].Subject.Start.Line != 29 {
				t.Fatalf("want one warning on the action (line 29), got %#v", diags)
			}
			if !strings.Contains(diags[0].Detail, "plan again") {
				t.Errorf("the warning does not say how to fix it: %s", diags[0].Detail)
			}
			found := false
			for _, d := range p.Diagnostics {
				found = found || (d.Severity == "warning" && d.Summary == "Terraform plan failed")
			}
			if !found {
				t.Errorf("the warning is not recorded in the plan: %+v", p.Diagnostics)
			}
			noSecret(t, p)
		})
	}
}

// A saved plan carries its previews; the plan apply makes again has none,
// and must still describe the same work.
func TestPreviewTerraformJSONRoundTrip(t *testing.T) {
	p, _ := previewPlan(t, PreviewOptions{Offline: true})
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Plan
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if pv := back.Instance("step.up").Action.Terraform; pv == nil || pv.Status != TerraformOffline {
		t.Errorf("the preview did not survive JSON: %+v", pv)
	}
}

// Variables may use data sources (filled from the plan's view) and
// each.value (rebuilt from the plan's recorded each): one instance per
// server, all applying ./infra, so the first is planned (with the server
// count, less one on the leader) and the others wait behind it.
func TestPreviewTerraformDataAndEach(t *testing.T) {
	needTerraform(t)
	base := copyTerraformFixture(t)
	src := `
variable "db_password" {
  type      = string
  sensitive = true
}
data "nomad_servers" "all" {}
terraform "app" { dir = "./infra" }
step "per_server" {
  for_each = data.nomad_servers.all.by_name
  action "terraform_apply" {
    terraform = terraform.app
    vars = {
      members  = length(data.nomad_servers.all.by_name) - (each.value.leader ? 1 : 0)
      name     = each.value.name
      password = "not-secret"
    }
  }
}
`
	path := filepath.Join(base, "each.nrun.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	rb, diags := lang.Load(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	inputs, diags := lang.InputValues(rb, []string{"db_password=x"}, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	view := loadInventory(t, "healthy")
	p, diags := Resolve(rb, inputs, view, ResolveOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if d := PreviewTerraform(ctx, rb, inputs, p, PreviewOptions{BaseDir: base, View: view}); len(d) > 0 {
		t.Fatal(d.Error())
	}
	// The first instance in plan order is planned; the others apply the
	// same directory after it.
	first := p.Instances[0]
	pv := first.Action.Terraform
	want := []TerraformChange{{Address: "terraform_data.credentials", Action: "create"}}
	// healthy has three servers; s2.global leads.
	n := 3
	if first.Key == "s2.global" {
		n = 2
	}
	for i := 0; i < n; i++ {
		want = append(want, TerraformChange{Address: fmt.Sprintf("terraform_data.member[%d]", i), Action: "create"})
	}
	if pv == nil || pv.Status != TerraformPlanned || !reflect.DeepEqual(pv.Changes, want) {
		t.Errorf("%s: want planned with %v, got %+v", first.Addr.String(), want, pv)
	}
	for _, in := range p.Instances[1:] {
		if pv := in.Action.Terraform; pv == nil || pv.Status != TerraformDeferred || !strings.Contains(pv.Reason, first.Addr.String()+" applies ./infra first") {
			t.Errorf("%s: want deferred behind %s, got %+v", in.Addr.String(), first.Addr.String(), pv)
		}
	}
}
