package operation

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/acl"
	"github.com/nrun-dev/nrun/backend"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planfile"
	"github.com/nrun-dev/nrun/planner"
)

// Inputs are where input variables come from, in rising precedence: the
// environment (NRUN_VAR_name entries of Environ), -var-file files, -var
// assignments.
type Inputs struct {
	Vars     []string
	VarFiles []string
	Environ  []string
}

// values reads the input variables of rb.
func (in Inputs) values(rb *lang.Runbook) (map[string]cty.Value, hcl.Diagnostics) {
	return lang.InputValuesEnv(rb, in.Environ, in.Vars, in.VarFiles)
}

// PlanRequest is `nrun plan`: the runbook at Path, planned against the live
// cluster or the Inventory file, saved to Out when set.
type PlanRequest struct {
	Path      string
	Inputs    Inputs
	Inventory string
	Out       string
	// Getenv reads the cluster settings (NOMAD_ADDR, NOMAD_TOKEN, ...).
	Getenv func(string) string
	// Backend is -backend: the plan says where apply would keep the
	// lock and the runs, and warns when that is the cluster the runbook
	// changes.
	Backend BackendChoice
}

// PlanResult is what a plan operation produced. Plan is nil when Diags has
// errors; Runbook is nil when the runbook did not load.
type PlanResult struct {
	Runbook *lang.Runbook
	Plan    *planner.Plan
	Diags   hcl.Diagnostics
	// Backend names where apply keeps the lock and the runs ("" for the
	// local backend); BackendWarning, when set, says it is in the cluster
	// the runbook changes (also a warning in Diags).
	Backend, BackendWarning string
}

// Plan loads the runbook and its inputs, reads the cluster (or the
// inventory file), resolves the plan with the whole safety analysis,
// previews Terraform and job changes, and saves the plan file when asked.
// Nothing in the cluster changes.
func Plan(ctx context.Context, req PlanRequest) *PlanResult {
	res := &PlanResult{}
	rb, diags := lang.Load(req.Path)
	res.Runbook = rb
	var inputs map[string]cty.Value
	if rb != nil {
		var d hcl.Diagnostics
		inputs, d = req.Inputs.values(rb)
		diags = append(diags, d...)
	}
	if rb == nil || diags.HasErrors() {
		res.Diags = diags
		return res
	}

	var view *cluster.View
	var vd, pd hcl.Diagnostics
	var toks []checkedToken
	// What the backend apply would use needs of the tokens (an invalid
	// backend is reported below).
	var bneeds []acl.Need
	if bcfg, err := BackendConfig(rb, req.Path, req.Backend, inputs, "", req.Getenv); err == nil {
		bneeds = acl.BackendNeeds(string(bcfg.Kind), bcfg.Path)
	}
	switch {
	case req.Inventory != "":
		view, vd = ReadInventory(req.Inventory)
	case !planner.NeedsCluster(rb):
		// Apply reads none for this runbook either (same rule), so a
		// saved plan carries no fingerprint that apply would compare.
		// The backend's store is still checked.
		if len(bneeds) > 0 {
			toks, pd = preflight(ctx, rb, inputs, req.Getenv, bneeds)
			if pd.HasErrors() {
				res.Diags = append(diags, pd...)
				return res
			}
		}
	default:
		// The preflight comes first: a token that lacks what the read
		// needs is named as such rather than as a refused read.
		toks, pd = preflight(ctx, rb, inputs, req.Getenv, bneeds)
		if pd.HasErrors() {
			res.Diags = append(diags, pd...)
			return res
		}
		vctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		view, vd = planner.LiveView(vctx, rb, inputs, req.Getenv)
		cancel()
	}
	diags = append(diags, pd...)
	diags = append(diags, vd...)
	if vd.HasErrors() {
		res.Diags = diags
		return res
	}

	// Only a saved plan needs the salted hashes that let apply check its
	// inputs; without -out the plan stays a pure function of its inputs,
	// so -markdown (and the plan document in -json) give the same bytes
	// on every run.
	ropts := planner.ResolveOptions{Inventory: req.Inventory}
	if req.Out != "" {
		ropts.Salt = planner.NewSalt()
	}
	p, d := planner.Resolve(rb, inputs, view, ropts)
	diags = append(diags, d...)
	if diags.HasErrors() {
		res.Diags = diags
		return res
	}
	recordIdentities(toks, p)
	if ed := tokenExpiry(toks, p, time.Now()); ed.HasErrors() {
		res.Diags = append(diags, ed...)
		return res
	}
	offline := req.Inventory != ""
	diags = append(diags, previewTerraform(ctx, rb, inputs, p, view, req.Path, offline)...)
	if pd := previewJobs(ctx, req.Getenv, rb, inputs, p, req.Path, offline); pd.HasErrors() {
		res.Diags = append(diags, pd...)
		return res
	}
	if req.Out != "" {
		if err := planfile.Write(req.Out, p); err != nil {
			res.Diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Cannot save the plan", Detail: fmt.Sprintf("%v. Check that the -out directory exists and is writable.", err)})
			return res
		}
	}
	bcfg, err := BackendConfig(rb, req.Path, req.Backend, inputs, "", req.Getenv)
	if err == nil {
		var be backend.Backend
		if be, err = backend.Open(bcfg); err == nil {
			if be.Kind() != backend.Local {
				res.Backend = be.Where()
			}
			if BackendDisrupted(rb, be.Kind()) {
				res.BackendWarning = strings.ToUpper(DisruptedWarning(be)[:1]) + DisruptedWarning(be)[1:]
				d := &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "The backend is in the cluster this runbook changes", Detail: res.BackendWarning}
				if rb.Backend != nil {
					d.Subject = rb.Backend.DeclRange.Ptr()
				}
				diags = append(diags, d)
			}
		}
	}
	if err != nil {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid backend", Detail: err.Error() + "."})
		res.Diags = diags
		return res
	}
	res.Plan, res.Diags = p, diags
	return res
}
