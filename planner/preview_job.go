package planner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// This file is the plan-time preview of nomad_job_run: the servers parse
// the jobspec and plan it (a dry run with the diff), and the plan records
// what registering it would change and the job's JobModifyIndex at that
// moment. Resolve stays pure: it only notes each nomad_job_run's resolved
// jobspec and vars (jobRunInput); PreviewJobs, run by nrun plan and nrun
// apply after Resolve, does the network part. The executor registers with
// the recorded JobModifyIndex when the runbook gives no check_index, so a
// job changed between plan and apply is refused.

// JobPreview is what a nomad_job_run would do, as the Nomad servers
// planned it when the plan was made. It is ActionPlan.Job.
type JobPreview struct {
	// Unavailable says why there is no preview (an offline plan, a
	// jobspec known only during apply, a jobspec the servers refused);
	// every other field is then empty.
	Unavailable string `json:"unavailable,omitempty"`

	JobID     string `json:"job_id,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// JobModifyIndex is the job's modify index when the plan was made, 0
	// when the job did not exist. Without check_index, apply registers
	// with it, so a job changed since the plan is not overwritten.
	JobModifyIndex uint64 `json:"job_modify_index"`
	// DiffType is "Added", "Edited" or "None" (already running as
	// planned).
	DiffType string `json:"diff_type,omitempty"`
	// Diff is the job diff rendered like `nomad plan`, one line per change.
	// Values of sensitive job variables read "(sensitive)".
	Diff     string `json:"diff,omitempty"`
	Warnings string `json:"warnings,omitempty"`
	// Groups is the scheduler's summary per task group.
	Groups map[string]cview.GroupUpdates `json:"groups,omitempty"`
	// FailedPlacements names the groups the scheduler could not place.
	FailedPlacements []string `json:"failed_placements,omitempty"`
}

// CheckIndex is the index the executor registers with when the runbook
// gives no check_index: ok is false when the preview has none.
func (j *JobPreview) CheckIndex() (index uint64, ok bool) {
	if j == nil || j.Unavailable != "" || j.JobID == "" {
		return 0, false
	}
	return j.JobModifyIndex, true
}

// jobRunInput is a nomad_job_run's arguments as Resolve evaluated them.
type jobRunInput struct {
	// unknown says why the jobspec or its vars are not known at plan time.
	unknown string
	jobspec string
	vars    map[string]string
	// secrets are the strings the preview must not show: the values of
	// job variables computed from sensitive variables, and the sensitive
	// variables' own values.
	secrets []string
	// subject is the jobspec argument's range, for diagnostics.
	subject hcl.Range
}

// recordJobRun notes the evaluated arguments of a nomad_job_run instance
// for PreviewJobs.
func (r *resolver) recordJobRun(in *Instance, act *lang.Action, ctx *hcl.EvalContext) {
	ji := &jobRunInput{vars: map[string]string{}}
	if attr := act.Args["jobspec"]; attr != nil {
		ji.subject = attr.Expr.Range()
		v, d := attr.Expr.Value(ctx)
		switch {
		case d.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || v.Type() != cty.String:
			ji.unknown = "the jobspec path is known only during apply"
		default:
			ji.jobspec = v.AsString()
		}
	}
	if attr := act.Args["vars"]; attr != nil && ji.unknown == "" {
		v, d := attr.Expr.Value(ctx)
		if d.HasErrors() || !v.IsWhollyKnown() {
			ji.unknown = "the job variables are known only during apply"
		} else if !v.IsNull() && v.CanIterateElements() {
			perItem := r.sensitiveVarItems(attr.Expr)
			for it := v.ElementIterator(); it.Next(); {
				k, e := it.Element()
				if e.IsNull() || e.Type() != cty.String {
					continue
				}
				ji.vars[k.AsString()] = e.AsString()
				if perItem == nil || perItem[k.AsString()] {
					ji.secrets = append(ji.secrets, e.AsString())
				}
			}
		}
	}
	if len(ji.secrets) > 0 && r.sc != nil {
		// A job variable computed from a sensitive variable may hold it
		// with more around it; the jobspec can cut it out again.
		for _, v := range r.rb.Variables {
			if v.Sensitive {
				lang.SecretStrings(r.sc.Vars[v.Name], &ji.secrets)
			}
		}
	}
	if r.plan.jobRuns == nil {
		r.plan.jobRuns = map[string]*jobRunInput{}
	}
	r.plan.jobRuns[in.Addr.String()] = ji
}

// sensitiveVarItems says, per job variable of a vars object written out
// in the runbook, whether its value comes from a sensitive variable; nil
// means the whole expression does (or it is not written out item by item)
// and every value is secret. An empty map means none is.
func (r *resolver) sensitiveVarItems(e hcl.Expression) map[string]bool {
	if !r.usesSensitive(e) {
		return map[string]bool{}
	}
	oc, ok := e.(*hclsyntax.ObjectConsExpr)
	if !ok {
		return nil
	}
	out := map[string]bool{}
	for _, item := range oc.Items {
		k, d := item.KeyExpr.Value(nil)
		if d.HasErrors() || k.IsNull() || !k.IsKnown() || k.Type() != cty.String {
			// A computed key: cannot tell which value it names.
			return nil
		}
		out[k.AsString()] = r.usesSensitive(item.ValueExpr)
	}
	return out
}

// minSecretLen is the shortest secret the preview replaces inside the
// diff; a shorter one would match ordinary text ("1", "web"), so a diff
// that could hold one is withheld whole.
const minSecretLen = 4

// OfflinePreview is JobPreview.Unavailable of a plan made without a live
// cluster.
const OfflinePreview = "the plan was made offline (-inventory), so the servers did not plan this job; nrun plan against the live cluster shows its diff"

// PreviewJobs fills ActionPlan.Job of every nomad_job_run instance of p:
// the servers parse its jobspec (read relative to baseDir) with its vars
// and plan it. With c nil (an offline plan) each gets Unavailable =
// OfflinePreview. A jobspec the servers refuse gives a warning (the
// register would fail the same way at apply) and Unavailable.
//
// p must come from Resolve in this process (a plan read from a file has
// no record of the evaluated arguments; its previews are already in it).
func PreviewJobs(ctx context.Context, p *Plan, c *cview.Client, baseDir string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if p == nil {
		return nil
	}
	for _, in := range p.Instances {
		if in.Action == nil || actionPreview(in.Action.Type) != lang.PreviewJob {
			continue
		}
		ji := p.jobRuns[in.Addr.String()]
		switch {
		case ji == nil:
			in.Action.Job = &JobPreview{Unavailable: "the job's arguments were not recorded when the plan was resolved"}
			continue
		case ji.unknown != "":
			in.Action.Job = &JobPreview{Unavailable: ji.unknown}
			continue
		case c == nil:
			in.Action.Job = &JobPreview{Unavailable: OfflinePreview}
			continue
		}
		pv, d := previewJob(ctx, c, baseDir, in.Addr.String(), ji)
		in.Action.Job = pv
		diags = append(diags, d...)
	}
	for _, d := range diags {
		p.Diagnostics = append(p.Diagnostics, planDiagnostic(d))
	}
	return diags
}

func previewJob(ctx context.Context, c *cview.Client, baseDir, addr string, ji *jobRunInput) (*JobPreview, hcl.Diagnostics) {
	path := ji.jobspec
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, path)
	}
	redact := newSecretReplacer(ji.secrets)
	warn := func(summary, why string) (*JobPreview, hcl.Diagnostics) {
		why = redact.replace(why)
		subj := ji.subject
		return &JobPreview{Unavailable: why}, hcl.Diagnostics{{
			Severity: hcl.DiagWarning,
			Summary:  summary,
			Detail:   fmt.Sprintf("%s could not be previewed: %s. Apply would fail the same way at this step; fix the jobspec or its vars and plan again.", addr, why),
			Subject:  &subj,
		}}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return warn("Cannot read the jobspec", err.Error())
	}
	job, err := c.ParseJob(ctx, string(src), ji.vars)
	if err != nil {
		return warn("The servers cannot parse the jobspec", err.Error())
	}
	jp, err := c.PlanJob(ctx, job)
	if err != nil {
		return warn("The servers cannot plan the job", err.Error())
	}
	pv := &JobPreview{
		JobID: jp.JobID, JobModifyIndex: jp.JobModifyIndex, DiffType: jp.DiffType,
		Warnings: redact.replace(jp.Warnings), Groups: jp.Groups, FailedPlacements: jp.FailedPlacements,
	}
	if job.Namespace != nil {
		pv.Namespace = *job.Namespace
	}
	switch {
	case redact.tooShort:
		pv.Diff = "(withheld: a sensitive job variable is shorter than 4 characters, too short to redact from the diff reliably)\n"
	default:
		pv.Diff = redact.replace(jp.Diff)
	}
	return pv, nil
}

// secretReplacer replaces secrets with "(sensitive)", longest first.
type secretReplacer struct {
	r        *strings.Replacer
	tooShort bool
}

func newSecretReplacer(secrets []string) secretReplacer {
	var keep []string
	seen := map[string]bool{}
	out := secretReplacer{}
	for _, s := range secrets {
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		if len(s) < minSecretLen {
			out.tooShort = true
			continue
		}
		keep = append(keep, s)
	}
	sort.Slice(keep, func(i, j int) bool { return len(keep[i]) > len(keep[j]) })
	var pairs []string
	for _, s := range keep {
		pairs = append(pairs, s, "(sensitive)")
	}
	if len(pairs) > 0 {
		out.r = strings.NewReplacer(pairs...)
	}
	return out
}

func (s secretReplacer) replace(text string) string {
	if s.r == nil {
		return text
	}
	return s.r.Replace(text)
}

// CopyJobPreviews sets the job previews of p to those saved in from, by
// instance address, so `nrun apply PLANFILE` registers with the
// JobModifyIndex the operator reviewed rather than one read at apply.
// Instances of p that saved holds no preview for keep theirs.
func CopyJobPreviews(p, from *Plan) {
	if p == nil || from == nil {
		return
	}
	saved := map[string]*JobPreview{}
	for _, in := range from.Instances {
		if in != nil && in.Action != nil && in.Action.Job != nil {
			saved[in.Addr.String()] = in.Action.Job
		}
	}
	for _, in := range p.Instances {
		if in.Action == nil {
			continue
		}
		if j, ok := saved[in.Addr.String()]; ok {
			in.Action.Job = j
		}
	}
}
