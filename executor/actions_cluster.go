package executor

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// This file wires the job and Consul actions to the cluster package, whose
// functions each probe before they act and report an effect already in
// place (the Already/AlreadyPromoted/AlreadyOnVersion results), so a
// retried attempt does no harm.

// clusterFunc is an action that talks to the cluster package.
type clusterFunc func(r *runner, ctx context.Context, c *cluster.Client, n *node, args map[string]cty.Value) (detail, digest string, err error)

// implementCluster registers a job or Consul action, which needs the
// cluster client.
func implementCluster(name string, f clusterFunc) {
	implementAction(name, func(r *runner, ctx, _ context.Context, n *node, args map[string]cty.Value) (string, string, error) {
		if r.cfg.Cluster == nil {
			return "", "", fmt.Errorf("%s: no cluster is configured", name)
		}
		return f(r, ctx, r.cfg.Cluster, n, args)
	})
}

func init() {
	implementCluster(lang.ActionConsulSnapshotSave, func(r *runner, ctx context.Context, c *cluster.Client, _ *node, args map[string]cty.Value) (string, string, error) {
		path := strArg(args, "path")
		if path == "" {
			return "", "", errors.New("consul_snapshot_save: path is empty")
		}
		s, err := c.SnapshotSave(ctx, r.resolvePath(path))
		if err != nil {
			return "", "", err
		}
		return fmt.Sprintf("consul snapshot %s: %d bytes at Raft index %d, %s", s.Path, s.Size, s.Index, s.SHA256), s.SHA256, nil
	})
	implementCluster(lang.ActionConsulForceLeave, func(r *runner, ctx context.Context, c *cluster.Client, n *node, args map[string]cty.Value) (string, string, error) {
		name, err := r.consulNode(n, args["node"])
		if err != nil {
			return "", "", err
		}
		prune := boolArg(args, "prune", false)
		fl, err := c.ForceLeave(ctx, name, prune)
		if err != nil {
			return "", "", err
		}
		if fl.Already {
			return fmt.Sprintf("consul node %s had already left (prune=%v); nothing sent", name, prune), "", nil
		}
		return fmt.Sprintf("force-left consul node %s (was %s, prune=%v)", name, fl.StatusBefore, prune), "", nil
	})
	implementCluster(lang.ActionConsulRaftRemovePeer, func(r *runner, ctx context.Context, c *cluster.Client, n *node, args map[string]cty.Value) (string, string, error) {
		ref, present, err := r.consulPeer(ctx, n, args["server"])
		if err != nil {
			return "", "", err
		}
		if !present {
			return "already not a Consul Raft peer: " + ref, "", nil
		}
		rm, err := c.RaftRemovePeer(ctx, ref)
		if err != nil {
			return "", "", err
		}
		if rm.Already {
			return "already not a Consul Raft peer: " + ref, "", nil
		}
		return fmt.Sprintf("removed Consul Raft peer %s (%s, %s)", rm.Node, rm.ID, rm.Address), "", nil
	})
	implementCluster(lang.ActionConsulMaintenance, func(r *runner, ctx context.Context, c *cluster.Client, n *node, args map[string]cty.Value) (string, string, error) {
		name, err := r.consulNode(n, args["node"])
		if err != nil {
			return "", "", err
		}
		enable := boolArg(args, "enable", true)
		// Without an agent address SetMaintenance guesses it with
		// AgentAddress; either way it checks that the agent there is this
		// node before it writes.
		m, err := c.SetMaintenance(ctx, name, strArg(args, "agent"), enable, strArg(args, "reason"))
		if err != nil {
			return "", "", err
		}
		if m.Already {
			return fmt.Sprintf("consul node %s already had maintenance=%v; nothing sent", name, enable), "", nil
		}
		return fmt.Sprintf("consul node %s maintenance=%v (agent %s)", name, enable, m.Agent), "", nil
	})
	implementCluster(lang.ActionNomadDeploymentPromote, func(r *runner, ctx context.Context, _ *cluster.Client, n *node, args map[string]cty.Value) (string, string, error) {
		job := strArg(args, "job")
		if job == "" {
			return "", "", errors.New("nomad_deployment_promote: job is empty")
		}
		groups, err := stringList("groups", args["groups"])
		if err != nil {
			return "", "", err
		}
		d, err := r.promote(ctx, n, job, groups)
		return d, "", err
	})
	implementCluster(lang.ActionNomadJobRevert, func(r *runner, ctx context.Context, c *cluster.Client, _ *node, args map[string]cty.Value) (string, string, error) {
		job := strArg(args, "job")
		if job == "" {
			return "", "", errors.New("nomad_job_revert: job is empty")
		}
		version, err := uintArg(args, "version")
		if err != nil {
			return "", "", err
		}
		rv, err := c.RevertJob(ctx, cluster.JobRef{ID: job}, version, nil)
		if err != nil {
			return "", "", err
		}
		if rv.AlreadyOnVersion {
			return fmt.Sprintf("job %s already runs the definition of version %d; nothing sent", job, version), "", nil
		}
		return fmt.Sprintf("reverted job %s to version %d (now version %d, eval %s)", job, version, rv.JobVersion, rv.EvalID), "", nil
	})
	implementCluster(lang.ActionNomadJobRun, func(r *runner, ctx context.Context, _ *cluster.Client, n *node, args map[string]cty.Value) (string, string, error) {
		d, err := r.jobRun(ctx, n, args)
		return d, "", err
	})
}

// promote waits until the deployment of the job's current version has its
// canaries placed and healthy, then promotes it. Right after a
// registration the job's latest deployment is still the previous
// version's (the new one is created by the evaluation), so promoting "the
// latest deployment" at once would promote nothing.
func (r *runner) promote(ctx context.Context, n *node, job string, groups []string) (string, error) {
	if err := r.needNomad(); err != nil {
		return "", err
	}
	ref := cluster.JobRef{ID: job}
	version, err := r.deployedVersion(ctx, ref)
	if err != nil {
		return "", err
	}
	last := ""
	st, err := r.cfg.Cluster.WatchDeployment(ctx, ref, version, func(s cluster.DeploymentStatus) {
		line := fmt.Sprintf("deployment %s of job %s version %d: %s %s", s.ID, job, s.JobVersion, s.Status, s.Description)
		if line != last {
			last = line
			r.log.Printf("%s: %s", n.addr, line)
		}
	})
	if err != nil {
		return "", err
	}
	if !st.NeedsPromotion {
		return fmt.Sprintf("deployment %s of job %s version %d is already %s; nothing sent", st.ID, job, st.JobVersion, st.Status), nil
	}
	p, err := r.cfg.Cluster.PromoteDeployment(ctx, cluster.DeploymentTarget{DeploymentID: st.ID}, groups)
	if err != nil {
		return "", err
	}
	if p.AlreadyPromoted {
		return fmt.Sprintf("deployment %s of job %s was already promoted; nothing sent", p.DeploymentID, job), nil
	}
	return fmt.Sprintf("promoted deployment %s of job %s version %d (eval %s)", p.DeploymentID, job, st.JobVersion, p.EvalID), nil
}

// jobRun registers the jobspec's job, refused by Nomad when the job
// changed since check_index. The deployment is not awaited here: the
// deployment_successful wait does that.
func (r *runner) jobRun(ctx context.Context, n *node, args map[string]cty.Value) (string, error) {
	c := r.cfg.Cluster
	job, err := r.parseJobArg(ctx, args)
	if err != nil {
		return "", err
	}
	var check uint64
	usePlan := false
	planned, fromPlan := n.inst.Action.Job.CheckIndex()
	if v, ok := args["check_index"]; ok && !v.IsNull() {
		if check, err = uintArg(args, "check_index"); err != nil {
			return "", err
		}
	} else if fromPlan && n.inst.Action.Job.JobID == *job.ID {
		// The JobModifyIndex the plan's preview was made against: a job
		// changed since is refused rather than overwritten.
		check = planned
		usePlan = true
	} else {
		// Without check_index the job is registered whatever its index:
		// read the current one so the enforced registration matches it.
		if err := r.needNomad(); err != nil {
			return "", err
		}
		q := qo(ctx)
		q.AllowStale = false
		if job.Namespace != nil && *job.Namespace != "" {
			q.Namespace = *job.Namespace
		}
		cur, _, err := r.nomad.c.Jobs().Info(*job.ID, q)
		switch {
		case err == nil && cur.JobModifyIndex != nil:
			check = *cur.JobModifyIndex
		case err != nil && !isNotFound(err):
			return "", fmt.Errorf("read job %s: %w", *job.ID, err)
		}
	}
	reg, err := c.RegisterJob(ctx, job, check)
	var conflict *cluster.IndexConflictError
	if usePlan && errors.As(err, &conflict) {
		return "", planConflict(conflict)
	}
	if err != nil {
		// An *IndexConflictError already says that the job changed since
		// the plan and how to plan again.
		return "", fmt.Errorf("nomad_job_run: %w", err)
	}
	ns := ""
	if job.Namespace != nil {
		ns = *job.Namespace
	}
	r.registered(ns, reg.JobID, reg.JobVersion)
	d := fmt.Sprintf("registered job %s version %d (JobModifyIndex %d, eval %s)", reg.JobID, reg.JobVersion, reg.JobModifyIndex, reg.EvalID)
	if usePlan {
		d += fmt.Sprintf("; it was still at JobModifyIndex %d, as when planned", check)
	}
	if reg.Warnings != "" {
		d += "; warnings: " + reg.Warnings
	}
	return d, nil
}

// planConflict words a refused registration whose check index came from
// the plan's job preview (the runbook gave no check_index).
func planConflict(e *cluster.IndexConflictError) error {
	now := "it does not exist any more"
	switch {
	case e.Exists && e.CheckIndex == 0:
		now = fmt.Sprintf("it did not exist then and was created since (JobModifyIndex %d)", e.Current)
	case e.Exists:
		now = fmt.Sprintf("its JobModifyIndex is now %d", e.Current)
	}
	return fmt.Errorf("nomad_job_run: job %s changed since the plan was made: the plan's diff was computed against JobModifyIndex %d, but %s. Nomad refused to register it, so nobody's change was overwritten; run nrun plan again, review the new diff (nomad job history %s shows who changed what) and apply that plan",
		e.JobID, e.CheckIndex, now, e.JobID)
}

func isNotFound(err error) bool {
	var ue nomad.UnexpectedResponseError
	if errors.As(err, &ue) {
		return ue.StatusCode() == 404
	}
	var uep *nomad.UnexpectedResponseError
	if errors.As(err, &uep) {
		return uep.StatusCode() == 404
	}
	return false
}

// parseJobArg reads the jobspec file (relative to the runbook directory)
// and has the server parse it with vars.
func (r *runner) parseJobArg(ctx context.Context, args map[string]cty.Value) (*nomad.Job, error) {
	path := strArg(args, "jobspec")
	if path == "" {
		return nil, errors.New("nomad_job_run: jobspec is empty")
	}
	src, err := os.ReadFile(r.resolvePath(path))
	if err != nil {
		return nil, fmt.Errorf("nomad_job_run: read the jobspec: %w", err)
	}
	vars := map[string]string{}
	if v, ok := args["vars"]; ok && !v.IsNull() && v.CanIterateElements() {
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if e.IsNull() || e.Type() != cty.String {
				return nil, fmt.Errorf("argument vars: the value of %s is not a string", k.AsString())
			}
			vars[k.AsString()] = e.AsString()
		}
	}
	return r.cfg.Cluster.ParseJob(ctx, string(src), vars)
}

// uintArg reads a whole non-negative number argument.
func uintArg(args map[string]cty.Value, name string) (uint64, error) {
	v, ok := args[name]
	if !ok || v.IsNull() || v.Type() != cty.Number {
		return 0, fmt.Errorf("argument %s: want a whole number", name)
	}
	bf := v.AsBigFloat()
	if bf.Sign() < 0 || !bf.IsInt() {
		return 0, fmt.Errorf("argument %s: %s is not a whole non-negative number", name, bf.Text('f', -1))
	}
	u, acc := bf.Uint64()
	if acc != big.Exact {
		return 0, fmt.Errorf("argument %s: %s is too large", name, bf.Text('f', -1))
	}
	return u, nil
}

// consulNode is the Consul node name an argument names, else the
// instance's target's name. A Nomad server's name is its node name plus
// ".<region>" (serf's member name) and its ID is a Raft ID, so for a Nomad
// server the region is cut off and the ID never used.
func (r *runner) consulNode(n *node, v cty.Value) (string, error) {
	t, err := r.targetArg(n, v)
	if err != nil {
		return "", err
	}
	name := consulNodeName(t)
	if name == "" {
		return "", errors.New("the Consul node has no name; name it in the action's argument")
	}
	return name, nil
}

// consulNodeName is the Consul node name of a target: a Nomad server's
// name without its ".<region>" (its ID is a Raft ID, no node name), else
// the target's name or ID.
func consulNodeName(t checks.Target) string {
	if t.Kind == lang.TargetNomadServer {
		if i := strings.LastIndexByte(t.Name, '.'); i > 0 {
			return t.Name[:i]
		}
		return t.Name
	}
	return firstNonEmpty(t.Name, t.ID)
}

// consulPeer finds which of the server's references (ID, name, address)
// Consul's Raft configuration knows; present is false when none matches.
func (r *runner) consulPeer(ctx context.Context, n *node, v cty.Value) (ref string, present bool, err error) {
	t, err := r.targetArg(n, v)
	if err != nil {
		return "", false, err
	}
	refs := uniqueNonEmpty(t.ID, t.Name, t.Address)
	if len(refs) == 0 {
		return "", false, errors.New("the Consul server has no ID, name or address")
	}
	for _, ref := range refs {
		ok, err := r.cfg.Cluster.RaftPeerPresent(ctx, ref)
		if err != nil {
			return "", false, err
		}
		if ok {
			return ref, true, nil
		}
	}
	return refs[0], false, nil
}

func uniqueNonEmpty(ss ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
