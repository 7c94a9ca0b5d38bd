package cluster

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclwrite"
	nomad "github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"
)

// This file is the write side of Nomad jobs for the nomad_job_run,
// nomad_deployment_promote and nomad_job_revert actions and the
// deployment_successful wait. Each function takes typed arguments, makes
// the smallest set of API calls, and is safe to call again after a crash:
// RegisterJob refuses to overwrite a job changed since check_index,
// JobInPlace says whether a registration already happened, and
// PromoteDeployment and RevertJob probe before they act.

// ParseJob has the Nomad server turn an HCL2 jobspec into a job, with vars
// as the jobspec's variables (as `nomad job run -var k=v` would pass them;
// a variable declared as a number accepts "3"). The server parses because
// jobspec2 cannot be imported (it needs Nomad's fork of hcl).
func (c *Client) ParseJob(ctx context.Context, src string, vars map[string]string) (*nomad.Job, error) {
	req := &nomad.JobsParseRequest{JobHCL: src, Variables: varFile(vars), Canonicalize: true}
	var job nomad.Job
	// Jobs().ParseHCLOpts takes no context; the same request through Raw
	// does, so a hung server cannot hold the step past its timeout.
	if _, err := c.nomad.Raw().Write("/v1/jobs/parse", req, &job, c.nomadWrite(ctx)); err != nil {
		return nil, c.nomadErr("parse the jobspec", err)
	}
	if job.ID == nil || *job.ID == "" {
		return nil, c.nomadErr("parse the jobspec", errors.New("the server returned a job without an ID"))
	}
	return &job, nil
}

// varFile renders vars as an HCL variables file, quoting every value the way
// HCL does.
func varFile(vars map[string]string) string {
	if len(vars) == 0 {
		return ""
	}
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	f := hclwrite.NewEmptyFile()
	for _, k := range names {
		f.Body().SetAttributeValue(k, cty.StringVal(vars[k]))
	}
	return string(f.Bytes())
}

func (c *Client) nomadWrite(ctx context.Context) *nomad.WriteOptions {
	return (&nomad.WriteOptions{}).WithContext(ctx)
}

// GroupUpdates are the scheduler's intended changes to one task group, as
// `nomad plan` summarises them.
type GroupUpdates struct {
	Place       uint64 `json:"place,omitempty"`
	Stop        uint64 `json:"stop,omitempty"`
	Migrate     uint64 `json:"migrate,omitempty"`
	InPlace     uint64 `json:"in_place,omitempty"`
	Destructive uint64 `json:"destructive,omitempty"`
	Canary      uint64 `json:"canary,omitempty"`
	Ignore      uint64 `json:"ignore,omitempty"`
}

// String is "1 create/destroy update, 1 canary, 2 ignore".
func (g GroupUpdates) String() string {
	var parts []string
	add := func(n uint64, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(g.Place, "create")
	add(g.Stop, "destroy")
	add(g.Migrate, "migrate")
	add(g.InPlace, "in-place update")
	add(g.Destructive, "create/destroy update")
	add(g.Canary, "canary")
	add(g.Ignore, "ignore")
	return strings.Join(parts, ", ")
}

// JobPlan is what registering a job would do, from a dry-run plan.
type JobPlan struct {
	JobID string `json:"job_id"`
	// JobModifyIndex is the job's current modify index (0 when it does not
	// exist): pass it to RegisterJob as checkIndex.
	JobModifyIndex uint64 `json:"job_modify_index"`
	// DiffType is the job's diff: "Added", "Edited", "Deleted" or "None".
	DiffType string `json:"diff_type"`
	// Diff is the diff rendered like `nomad plan`.
	Diff     string                  `json:"diff"`
	Warnings string                  `json:"warnings,omitempty"`
	Groups   map[string]GroupUpdates `json:"groups,omitempty"`
	// FailedPlacements names groups the scheduler could not place, with
	// why, e.g. "app: 1 unplaced (resources exhausted on 2 nodes)".
	FailedPlacements []string `json:"failed_placements,omitempty"`
}

// NoChanges reports whether the job already runs as planned: the resume
// probe of nomad_job_run.
func (p JobPlan) NoChanges() bool { return p.DiffType == "None" }

// PlanJob asks the scheduler what registering job would change, with the
// diff, without changing anything.
func (c *Client) PlanJob(ctx context.Context, job *nomad.Job) (JobPlan, error) {
	if job == nil || job.ID == nil {
		return JobPlan{}, errors.New("plan job: no job given")
	}
	resp, _, err := c.nomad.Jobs().Plan(job, true, c.jobWrite(ctx, job))
	if err != nil {
		return JobPlan{}, c.nomadErr("plan job "+*job.ID, err)
	}
	p := JobPlan{JobID: *job.ID, JobModifyIndex: resp.JobModifyIndex, Warnings: resp.Warnings, DiffType: "None"}
	if resp.Diff != nil {
		p.DiffType = resp.Diff.Type
		p.Diff = RenderJobDiff(resp.Diff, resp.Annotations)
	}
	if resp.Annotations != nil {
		p.Groups = map[string]GroupUpdates{}
		for name, u := range resp.Annotations.DesiredTGUpdates {
			if u == nil {
				continue
			}
			p.Groups[name] = GroupUpdates{
				Place: u.Place, Stop: u.Stop, Migrate: u.Migrate, InPlace: u.InPlaceUpdate,
				Destructive: u.DestructiveUpdate, Canary: u.Canary, Ignore: u.Ignore,
			}
		}
	}
	for name, m := range resp.FailedTGAllocs {
		if m == nil {
			continue
		}
		why := fmt.Sprintf("%d nodes evaluated, %d filtered, %d exhausted", m.NodesEvaluated, m.NodesFiltered, m.NodesExhausted)
		p.FailedPlacements = append(p.FailedPlacements, fmt.Sprintf("%s: %d unplaced (%s)", name, m.CoalescedFailures+1, why))
	}
	sort.Strings(p.FailedPlacements)
	return p, nil
}

func (c *Client) jobWrite(ctx context.Context, job *nomad.Job) *nomad.WriteOptions {
	q := c.nomadWrite(ctx)
	if job.Namespace != nil && *job.Namespace != "" {
		q.Namespace = *job.Namespace
	}
	return q
}

// RenderJobDiff renders a job diff the way `nomad plan` does: one line per
// changed field or object, "+" added, "-" deleted, "+/-" edited, nested
// objects indented, unchanged fields left out. ann adds each group's
// scheduler summary, e.g. `+/- Task Group: "app" (1 canary, 1 ignore)`.
func RenderJobDiff(d *nomad.JobDiff, ann *nomad.PlanAnnotations) string {
	if d == nil {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s Job: %q\n", glyph(d.Type), d.ID)
	renderFields(&b, 1, d.Fields)
	renderObjects(&b, 1, d.Objects)
	for _, g := range d.TaskGroups {
		if g == nil {
			continue
		}
		note := ""
		if ann != nil && ann.DesiredTGUpdates[g.Name] != nil {
			u := ann.DesiredTGUpdates[g.Name]
			s := GroupUpdates{Place: u.Place, Stop: u.Stop, Migrate: u.Migrate, InPlace: u.InPlaceUpdate,
				Destructive: u.DestructiveUpdate, Canary: u.Canary, Ignore: u.Ignore}.String()
			if s != "" {
				note = " (" + s + ")"
			}
		}
		if g.Type == "None" && note == "" {
			continue
		}
		fmt.Fprintf(&b, "%s Task Group: %q%s\n", glyph(g.Type), g.Name, note)
		renderFields(&b, 1, g.Fields)
		renderObjects(&b, 1, g.Objects)
		for _, t := range g.Tasks {
			if t == nil || t.Type == "None" {
				continue
			}
			tn := ""
			if len(t.Annotations) > 0 {
				tn = " (" + strings.Join(t.Annotations, ", ") + ")"
			}
			fmt.Fprintf(&b, "  %s Task: %q%s\n", glyph(t.Type), t.Name, tn)
			renderFields(&b, 2, t.Fields)
			renderObjects(&b, 2, t.Objects)
		}
	}
	return b.String()
}

func glyph(diffType string) string {
	switch diffType {
	case "Added":
		return "+"
	case "Deleted":
		return "-"
	case "Edited":
		return "+/-"
	default:
		return " "
	}
}

func renderFields(b *strings.Builder, depth int, fields []*nomad.FieldDiff) {
	ind := strings.Repeat("  ", depth)
	for _, f := range fields {
		if f == nil || f.Type == "None" {
			continue
		}
		var v string
		switch f.Type {
		case "Added":
			v = strconv.Quote(f.New)
		case "Deleted":
			v = strconv.Quote(f.Old)
		default:
			v = strconv.Quote(f.Old) + " => " + strconv.Quote(f.New)
		}
		note := ""
		if len(f.Annotations) > 0 {
			note = " (" + strings.Join(f.Annotations, ", ") + ")"
		}
		fmt.Fprintf(b, "%s%s %s: %s%s\n", ind, glyph(f.Type), f.Name, v, note)
	}
}

func renderObjects(b *strings.Builder, depth int, objs []*nomad.ObjectDiff) {
	ind := strings.Repeat("  ", depth)
	for _, o := range objs {
		if o == nil || o.Type == "None" {
			continue
		}
		fmt.Fprintf(b, "%s%s %s {\n", ind, glyph(o.Type), o.Name)
		renderFields(b, depth+1, o.Fields)
		renderObjects(b, depth+1, o.Objects)
		fmt.Fprintf(b, "%s}\n", ind)
	}
}

// JobRegistration is the result of RegisterJob.
type JobRegistration struct {
	JobID          string `json:"job_id"`
	EvalID         string `json:"eval_id,omitempty"`
	JobModifyIndex uint64 `json:"job_modify_index"`
	// JobVersion is the version this registration created: pass it to
	// WatchDeployment.
	JobVersion uint64 `json:"job_version"`
	Warnings   string `json:"warnings,omitempty"`
}

// IndexConflictError is RegisterJob's refusal: the job changed (or was
// created or deleted) after the check index was read.
type IndexConflictError struct {
	JobID      string
	CheckIndex uint64
	// Current is the job's modify index now; Exists is false when the job
	// no longer exists.
	Current uint64
	Exists  bool
	Server  string // Nomad's own message
}

func (e *IndexConflictError) Error() string {
	now := "it does not exist any more"
	if e.Exists {
		now = fmt.Sprintf("its JobModifyIndex is now %d", e.Current)
	}
	if e.CheckIndex == 0 && e.Exists {
		now = fmt.Sprintf("it already exists (JobModifyIndex %d)", e.Current)
	}
	return fmt.Sprintf("job %s changed since it was planned: check_index is %d but %s. Nomad refused to register it, so nobody's change was overwritten; plan again against the job as it is now (nomad job inspect %s) and pass the new JobModifyIndex as check_index",
		e.JobID, e.CheckIndex, now, e.JobID)
}

// RegisterJob registers job only if its JobModifyIndex is still checkIndex
// (0: only if the job does not exist), so a change made since the plan is
// never overwritten; the refusal is an *IndexConflictError.
//
// After a crash, call JobInPlace before registering again: a registration
// that went through has moved the index past checkIndex, and would now be
// refused.
func (c *Client) RegisterJob(ctx context.Context, job *nomad.Job, checkIndex uint64) (JobRegistration, error) {
	if job == nil || job.ID == nil {
		return JobRegistration{}, errors.New("register job: no job given")
	}
	id := *job.ID
	opts := &nomad.RegisterOptions{EnforceIndex: true, ModifyIndex: checkIndex}
	resp, _, err := c.nomad.Jobs().RegisterOpts(job, opts, c.jobWrite(ctx, job))
	if err != nil {
		if strings.Contains(err.Error(), "Enforcing job modify index") {
			conflict := &IndexConflictError{JobID: id, CheckIndex: checkIndex, Server: err.Error()}
			if j, _, ierr := c.nomad.Jobs().Info(id, c.jobQuery(ctx, job)); ierr == nil {
				conflict.Exists, conflict.Current = true, derefU64(j.JobModifyIndex)
			}
			return JobRegistration{}, conflict
		}
		return JobRegistration{}, c.nomadErr("register job "+id, err)
	}
	out := JobRegistration{JobID: id, EvalID: resp.EvalID, JobModifyIndex: resp.JobModifyIndex, Warnings: resp.Warnings}
	// The response has no version; find the one this index created.
	versions, _, _, err := c.nomad.Jobs().Versions(id, false, c.jobQuery(ctx, job))
	if err != nil {
		return out, c.nomadErr("read the versions of job "+id, err)
	}
	found := false
	for _, v := range versions {
		if derefU64(v.JobModifyIndex) == resp.JobModifyIndex {
			out.JobVersion, found = derefU64(v.Version), true
			break
		}
	}
	if !found && len(versions) > 0 {
		// Re-registering an identical job creates no version.
		out.JobVersion = derefU64(versions[0].Version)
	}
	return out, nil
}

func (c *Client) jobQuery(ctx context.Context, job *nomad.Job) *nomad.QueryOptions {
	q := c.nomadQuery(ctx)
	if job != nil && job.Namespace != nil && *job.Namespace != "" {
		q.Namespace = *job.Namespace
	}
	// Right after a write a stale follower may not have it yet.
	q.AllowStale = false
	return q
}

// JobInPlace reports whether the cluster already runs job exactly as
// given (the plan's diff is empty), and the job's current version: the
// probe that tells a finished registration from one never sent.
func (c *Client) JobInPlace(ctx context.Context, job *nomad.Job) (bool, uint64, error) {
	p, err := c.PlanJob(ctx, job)
	if err != nil || !p.NoChanges() {
		return false, 0, err
	}
	j, _, err := c.nomad.Jobs().Info(*job.ID, c.jobQuery(ctx, job))
	if err != nil {
		return false, 0, c.nomadErr("read job "+*job.ID, err)
	}
	return true, derefU64(j.Version), nil
}

// DeploymentStatus is one observation of a deployment.
type DeploymentStatus struct {
	ID          string                     `json:"id"`
	JobID       string                     `json:"job_id"`
	JobVersion  uint64                     `json:"job_version"`
	Status      string                     `json:"status"` // running, successful, failed, cancelled, paused, blocked, pending
	Description string                     `json:"description"`
	Groups      map[string]DeploymentGroup `json:"groups"`
	// NeedsPromotion: the deployment is running, every canary is placed
	// and healthy, and no group promotes itself; it waits for
	// PromoteDeployment.
	NeedsPromotion bool `json:"needs_promotion,omitempty"`
	// RevertedTo is set when the deployment failed and Nomad's
	// auto_revert rolled the job back: the stable version it went back to.
	// CurrentJobVersion is the job's version now (a revert registers a new
	// version that copies the stable one).
	RevertedTo        *uint64 `json:"reverted_to,omitempty"`
	CurrentJobVersion uint64  `json:"current_job_version"`
}

// Terminal reports whether the deployment will not change any more.
func (s DeploymentStatus) Terminal() bool {
	switch s.Status {
	case nomad.DeploymentStatusSuccessful, nomad.DeploymentStatusFailed, nomad.DeploymentStatusCancelled:
		return true
	}
	return false
}

// DeploymentError is WatchDeployment's error for a deployment that failed
// or was cancelled. Status holds the last observation.
type DeploymentError struct{ Status DeploymentStatus }

func (e *DeploymentError) Error() string {
	s := e.Status
	msg := fmt.Sprintf("deployment %s of job %s version %d %s", shortID(s.ID), s.JobID, s.JobVersion, s.Status)
	if s.Description != "" {
		msg += ": " + s.Description
	}
	if s.RevertedTo != nil {
		msg += fmt.Sprintf(". auto_revert rolled the job back to version %d (now running as version %d); the new version is not running", *s.RevertedTo, s.CurrentJobVersion)
	}
	return msg
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

var rollbackRE = regexp.MustCompile(`rolling back to job version (\d+)`)

// WatchDeployment follows the deployment of jobID's version sinceVersion
// (the JobRegistration's JobVersion) with blocking queries, calling
// onUpdate (may be nil) on every change. It returns when the deployment is
// successful (nil error), when it needs promotion (NeedsPromotion set, nil
// error: promote, then watch again), or when it failed or was cancelled
// (*DeploymentError; an auto_revert is reported with the version the job
// is on now). ctx bounds the whole watch.
//
// A job whose version sinceVersion never gets a deployment (a batch job,
// or a group without an update block) is waited for until ctx ends.
func (c *Client) WatchDeployment(ctx context.Context, job JobRef, sinceVersion uint64, onUpdate func(DeploymentStatus)) (DeploymentStatus, error) {
	return c.watchDeployment(ctx, job, sinceVersion, onUpdate, true)
}

// WaitDeploymentDone is WatchDeployment that does not stop when the
// deployment needs promotion: it returns only once the deployment is
// successful, failed or cancelled, or ctx ends. It is the
// deployment_successful wait for a runbook that promotes in another step
// (or lets an operator promote).
func (c *Client) WaitDeploymentDone(ctx context.Context, job JobRef, sinceVersion uint64, onUpdate func(DeploymentStatus)) (DeploymentStatus, error) {
	return c.watchDeployment(ctx, job, sinceVersion, onUpdate, false)
}

func (c *Client) watchDeployment(ctx context.Context, job JobRef, sinceVersion uint64, onUpdate func(DeploymentStatus), stopForPromotion bool) (DeploymentStatus, error) {
	var last DeploymentStatus
	// First find the deployment; once found, follow it by ID, because an
	// auto_revert makes a newer deployment the job's latest.
	var depID string
	var index uint64
	for depID == "" {
		d, qm, err := c.nomad.Jobs().LatestDeployment(job.ID, c.refWait(ctx, job, index))
		if err != nil {
			return last, c.nomadErr("read the latest deployment of job "+job.ID, err)
		}
		if d != nil && d.JobVersion >= sinceVersion {
			if d.JobVersion > sinceVersion {
				// A later version was registered: an auto_revert (whose
				// own deployment is now the latest) or someone else's.
				// Follow ours if it has one; it says which.
				id, err := c.deploymentOf(ctx, job, sinceVersion)
				if err != nil {
					return last, err
				}
				if id == "" {
					last = DeploymentStatus{JobID: job.ID, JobVersion: sinceVersion, Status: nomad.DeploymentStatusCancelled,
						Description: fmt.Sprintf("no deployment of version %d; the job is at version %d already", sinceVersion, d.JobVersion)}
					return last, &DeploymentError{Status: last}
				}
				depID = id
				break
			}
			depID = d.ID
			break
		}
		index = qm.LastIndex
	}
	autoPromote := c.autoPromote(ctx, job, sinceVersion)
	index = 0
	for {
		d, qm, err := c.nomad.Deployments().Info(depID, c.refWait(ctx, job, index))
		if err != nil {
			return last, c.nomadErr("read deployment "+depID, err)
		}
		index = qm.LastIndex
		st := statusOf(d, autoPromote)
		if st.Status == nomad.DeploymentStatusFailed {
			if err := c.fillRevert(ctx, job, &st); err != nil {
				return st, err
			}
		}
		if onUpdate != nil && !sameStatus(st, last) {
			onUpdate(st)
		}
		last = st
		switch {
		case st.Status == nomad.DeploymentStatusSuccessful:
			return st, nil
		case st.Status == nomad.DeploymentStatusFailed, st.Status == nomad.DeploymentStatusCancelled:
			return st, &DeploymentError{Status: st}
		case st.NeedsPromotion && stopForPromotion:
			return st, nil
		}
		if err := ctx.Err(); err != nil {
			return st, c.nomadErr("wait for deployment "+depID, err)
		}
	}
}

// deploymentOf finds the deployment of the job's version, "" when it has
// none.
func (c *Client) deploymentOf(ctx context.Context, job JobRef, version uint64) (string, error) {
	q := c.nomadQuery(ctx)
	q.AllowStale = false
	if job.Namespace != "" {
		q.Namespace = job.Namespace
	}
	ds, _, err := c.nomad.Jobs().Deployments(job.ID, false, q)
	if err != nil {
		return "", c.nomadErr("read the deployments of job "+job.ID, err)
	}
	for _, d := range ds {
		if d != nil && d.JobVersion == version {
			return d.ID, nil
		}
	}
	return "", nil
}

func (c *Client) refWait(ctx context.Context, job JobRef, index uint64) *nomad.QueryOptions {
	q := c.blockingNomad(ctx, index)
	// Read from the leader: a watch started right after a promotion or a
	// registration must see it, and a stale follower may not have it yet
	// (seen live: a watch after PromoteDeployment read the deployment as
	// still waiting for promotion).
	q.AllowStale = false
	if job.Namespace != "" {
		q.Namespace = job.Namespace
	}
	return q
}

// autoPromote reads which groups of the job's version promote themselves.
// On any error it answers "none": NeedsPromotion is then also reported for
// an auto-promoting group in the moment before Nomad promotes it, and a
// promotion of an already promoted deployment is a no-op.
func (c *Client) autoPromote(ctx context.Context, job JobRef, version uint64) map[string]bool {
	q := c.nomadQuery(ctx)
	q.AllowStale = false
	if job.Namespace != "" {
		q.Namespace = job.Namespace
	}
	versions, _, _, err := c.nomad.Jobs().Versions(job.ID, false, q)
	out := map[string]bool{}
	if err != nil {
		return out
	}
	for _, v := range versions {
		if derefU64(v.Version) != version {
			continue
		}
		for _, g := range v.TaskGroups {
			if g != nil && g.Name != nil && g.Update != nil && derefBool(g.Update.AutoPromote) {
				out[*g.Name] = true
			}
		}
	}
	return out
}

func statusOf(d *nomad.Deployment, autoPromote map[string]bool) DeploymentStatus {
	st := DeploymentStatus{ID: d.ID, JobID: d.JobID, JobVersion: d.JobVersion, Status: d.Status, Description: d.StatusDescription}
	st.Groups = deploymentOf(d).Groups
	if d.Status != nomad.DeploymentStatusRunning {
		return st
	}
	waiting := 0
	for name, g := range d.TaskGroups {
		if g == nil || g.DesiredCanaries == 0 || g.Promoted {
			continue
		}
		if autoPromote[name] || len(g.PlacedCanaries) < g.DesiredCanaries || g.HealthyAllocs < g.DesiredCanaries {
			return st
		}
		waiting++
	}
	st.NeedsPromotion = waiting > 0
	return st
}

func sameStatus(a, b DeploymentStatus) bool {
	if a.ID != b.ID || a.Status != b.Status || a.Description != b.Description || a.NeedsPromotion != b.NeedsPromotion || len(a.Groups) != len(b.Groups) {
		return false
	}
	for k, g := range a.Groups {
		if b.Groups[k] != g {
			return false
		}
	}
	return true
}

// fillRevert reads the job after a failed deployment: when auto_revert
// rolled it back, the description names the version and the job has moved
// past the failed one.
func (c *Client) fillRevert(ctx context.Context, job JobRef, st *DeploymentStatus) error {
	if m := rollbackRE.FindStringSubmatch(st.Description); m != nil {
		if v, err := strconv.ParseUint(m[1], 10, 64); err == nil {
			st.RevertedTo = &v
		}
	}
	// Nomad fails the deployment and registers the rollback in one Raft
	// write, so a read from the leader sees both. The bounded wait is for
	// a Nomad that ever splits them.
	var index uint64
	for i := 0; i < 5; i++ {
		q := c.nomadQuery(ctx)
		q.AllowStale = false
		q.WaitIndex, q.WaitTime = index, 2*time.Second
		if job.Namespace != "" {
			q.Namespace = job.Namespace
		}
		j, qm, err := c.nomad.Jobs().Info(job.ID, q)
		if err != nil {
			return c.nomadErr("read job "+job.ID, err)
		}
		st.CurrentJobVersion = derefU64(j.Version)
		if st.RevertedTo == nil || st.CurrentJobVersion > st.JobVersion {
			return nil
		}
		index = qm.LastIndex
	}
	return nil
}

// DeploymentTarget names a deployment directly or as a job's latest.
type DeploymentTarget struct {
	DeploymentID string
	Job          JobRef
}

// Promotion is the result of PromoteDeployment.
type Promotion struct {
	DeploymentID string `json:"deployment_id"`
	EvalID       string `json:"eval_id,omitempty"`
	// AlreadyPromoted: every group asked for was promoted before this call
	// (or the deployment is already successful); nothing was sent.
	AlreadyPromoted bool `json:"already_promoted,omitempty"`
}

// PromoteDeployment promotes the canaries of groups (all canary groups
// when empty) in the target deployment. It probes first: a deployment whose
// groups are all promoted, or that is successful, is reported as
// AlreadyPromoted without a write, so a retried step is harmless. A
// deployment that failed or was cancelled cannot be promoted; that is an
// error saying so.
func (c *Client) PromoteDeployment(ctx context.Context, target DeploymentTarget, groups []string) (Promotion, error) {
	q := c.nomadQuery(ctx)
	q.AllowStale = false
	if target.Job.Namespace != "" {
		q.Namespace = target.Job.Namespace
	}
	var d *nomad.Deployment
	var err error
	switch {
	case target.DeploymentID != "":
		d, _, err = c.nomad.Deployments().Info(target.DeploymentID, q)
		if err != nil {
			return Promotion{}, c.nomadErr("read deployment "+target.DeploymentID, err)
		}
	case target.Job.ID != "":
		d, _, err = c.nomad.Jobs().LatestDeployment(target.Job.ID, q)
		if err != nil {
			return Promotion{}, c.nomadErr("read the latest deployment of job "+target.Job.ID, err)
		}
		if d == nil {
			return Promotion{}, fmt.Errorf("job %s has no deployment to promote; check that it has an update block with canary set and that it was registered", target.Job.ID)
		}
	default:
		return Promotion{}, errors.New("promote: name a deployment or a job")
	}
	out := Promotion{DeploymentID: d.ID}
	if d.Status == nomad.DeploymentStatusSuccessful {
		out.AlreadyPromoted = true
		return out, nil
	}
	if d.Status != nomad.DeploymentStatusRunning && d.Status != nomad.DeploymentStatusPaused {
		return out, fmt.Errorf("deployment %s of job %s version %d is %s (%s) and cannot be promoted; deploy the job again", shortID(d.ID), d.JobID, d.JobVersion, d.Status, d.StatusDescription)
	}
	pending := false
	for name, g := range d.TaskGroups {
		if g == nil || g.DesiredCanaries == 0 || (len(groups) > 0 && !contains(groups, name)) {
			continue
		}
		if !g.Promoted {
			pending = true
		}
	}
	for _, name := range groups {
		if _, ok := d.TaskGroups[name]; !ok {
			return out, fmt.Errorf("deployment %s of job %s has no task group %q", shortID(d.ID), d.JobID, name)
		}
	}
	if !pending {
		out.AlreadyPromoted = true
		return out, nil
	}
	var resp *nomad.DeploymentUpdateResponse
	if len(groups) == 0 {
		resp, _, err = c.nomad.Deployments().PromoteAll(d.ID, c.nomadWrite(ctx))
	} else {
		resp, _, err = c.nomad.Deployments().PromoteGroups(d.ID, groups, c.nomadWrite(ctx))
	}
	if err != nil {
		return out, c.nomadErr("promote deployment "+d.ID, err)
	}
	out.EvalID = resp.EvalID
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Revert is the result of RevertJob.
type Revert struct {
	JobID  string `json:"job_id"`
	EvalID string `json:"eval_id,omitempty"`
	// JobVersion is the version the job runs now: a revert registers a new
	// version that copies the old one.
	JobVersion uint64 `json:"job_version"`
	// AlreadyOnVersion: the job already ran version's definition; nothing
	// was sent.
	AlreadyOnVersion bool `json:"already_on_version,omitempty"`
}

// RevertJob rolls job back to version. It probes first: when the job's
// current definition already equals that version's (it is that version, or
// a revert to it already happened), it sends nothing. enforcePriorVersion,
// when set, makes Nomad refuse unless the job is still at that version, so
// a revert planned against version N does not undo someone's N+1.
func (c *Client) RevertJob(ctx context.Context, job JobRef, version uint64, enforcePriorVersion *uint64) (Revert, error) {
	q := c.nomadQuery(ctx)
	q.AllowStale = false
	if job.Namespace != "" {
		q.Namespace = job.Namespace
	}
	out := Revert{JobID: job.ID}
	versions, _, _, err := c.nomad.Jobs().Versions(job.ID, false, q)
	if err != nil {
		return out, c.nomadErr("read the versions of job "+job.ID, err)
	}
	var target, current *nomad.Job
	for _, v := range versions {
		if current == nil || derefU64(v.Version) > derefU64(current.Version) {
			current = v
		}
		if derefU64(v.Version) == version {
			target = v
		}
	}
	if target == nil || current == nil {
		return out, fmt.Errorf("job %s has no version %d (Nomad keeps a limited history; see nomad job history %s)", job.ID, version, job.ID)
	}
	out.JobVersion = derefU64(current.Version)
	if derefU64(current.Version) == version {
		out.AlreadyOnVersion = true
		return out, nil
	}
	// Planning the old definition against the current job: no diff means
	// the job already runs it.
	p, err := c.PlanJob(ctx, revertable(target))
	if err != nil {
		return out, err
	}
	if p.NoChanges() {
		out.AlreadyOnVersion = true
		return out, nil
	}
	w := c.nomadWrite(ctx)
	w.Namespace = q.Namespace
	resp, _, err := c.nomad.Jobs().Revert(job.ID, version, enforcePriorVersion, w, "", "")
	if err != nil {
		if enforcePriorVersion != nil && strings.Contains(err.Error(), "enforcing version") {
			return out, fmt.Errorf("job %s is no longer at version %d (it is at %d), so the revert to version %d was refused; check nomad job history %s and plan again", job.ID, *enforcePriorVersion, out.JobVersion, version, job.ID)
		}
		return out, c.nomadErr(fmt.Sprintf("revert job %s to version %d", job.ID, version), err)
	}
	out.EvalID = resp.EvalID
	j, _, err := c.nomad.Jobs().Info(job.ID, q)
	if err != nil {
		return out, c.nomadErr("read job "+job.ID, err)
	}
	out.JobVersion = derefU64(j.Version)
	return out, nil
}

// revertable copies a historical version into a job Plan accepts: the
// server rejects a plan whose Stop or status fields come from the past.
func revertable(j *nomad.Job) *nomad.Job {
	cp := *j
	cp.Stop = nil
	return &cp
}
