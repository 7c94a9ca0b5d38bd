package operation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

// ReadInventory reads a cluster view saved by `nrun inventory`. A file that
// does not decode, or that decodes to a view nrun inventory never writes
// (null servers, duplicate names, several leaders), is refused: planning
// against it would plan nonsense.
func ReadInventory(path string) (*cluster.View, hcl.Diagnostics) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read inventory file", Detail: fmt.Sprintf("%v. Check the -inventory path, or capture one with nrun inventory -out %s.", err, path)}}
	}
	var v cluster.View
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid inventory file", Detail: fmt.Sprintf("%s is not a cluster view as nrun inventory writes it: %v. Capture it again with nrun inventory -out %s.", path, err, path)}}
	}
	var diags hcl.Diagnostics
	for _, err := range (&v).Validate() {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid inventory file", Detail: fmt.Sprintf("In %s, %v. nrun inventory never writes this, so the file was edited or damaged: capture it again with nrun inventory -out %s, or correct that entry.", path, err, path)})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return &v, nil
}

// previewTerraform adds the Terraform plan summary of every terraform_apply
// instance to p (planner.PreviewTerraform): terraform init and plan run in
// each directory known now, nothing is applied. An offline plan
// (-inventory) runs no terraform and says so. Its diagnostics are warnings
// only, and are also recorded in p.
func previewTerraform(ctx context.Context, rb *lang.Runbook, inputs map[string]cty.Value, p *planner.Plan, view *cluster.View, path string, offline bool) hcl.Diagnostics {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	return planner.PreviewTerraform(ctx, rb, inputs, p, planner.PreviewOptions{BaseDir: BaseDir(path), View: view, Offline: offline})
}

// previewJobs has the servers plan every nomad_job_run of p (the job diff
// in the plan, and the JobModifyIndex apply registers with). offline marks
// the previews as unavailable instead (a plan from -inventory). Problems
// are warnings recorded in p; only a configuration error comes back.
func previewJobs(ctx context.Context, getenv func(string) string, rb *lang.Runbook, inputs map[string]cty.Value, p *planner.Plan, path string, offline bool) hcl.Diagnostics {
	if !hasJobRun(p) {
		return nil
	}
	base := BaseDir(path)
	if offline {
		return planner.PreviewJobs(ctx, p, nil, base)
	}
	cfg, diags := planner.ClusterConfig(rb, inputs)
	if diags.HasErrors() {
		return diags
	}
	c, err := cluster.New(cfg, cluster.WithGetenv(getenv))
	if err != nil {
		return cluster.Diagnostics(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return planner.PreviewJobs(ctx, p, c, base)
}

func hasJobRun(p *planner.Plan) bool {
	for _, in := range p.Instances {
		if in.Action != nil && in.Action.Type == "nomad_job_run" {
			return true
		}
	}
	return false
}

// BaseDir is the directory relative paths of a runbook at path (a file or
// a directory) are resolved against: by exec commands, terraform
// directories and job files, at plan and at apply alike.
func BaseDir(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return path
	}
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		return filepath.Dir(abs)
	}
	return abs
}
