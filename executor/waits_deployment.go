package executor

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// This file is the deployment_successful and deployment_canaries_healthy
// waits: they follow one deployment with blocking queries (cluster's
// WatchDeployment) instead of polling the view, and fail at once when it
// fails, so a canary that auto_revert rolled back is reported in seconds,
// not at the wait's timeout.

// waitDeployment follows the deployment of the version of the job this
// run registered (else the job's current version) until the check holds.
func (r *runner) waitDeployment(ctx context.Context, name string, a checks.Args, t checks.Target, observe func(checks.Result)) error {
	job := a.Job
	if job == "" {
		job = firstNonEmpty(t.ID, t.Name)
	}
	if job == "" {
		return fmt.Errorf("%s needs a job argument", name)
	}
	ref := cluster.JobRef{ID: job, Namespace: a.Namespace}
	canaries := lang.CheckSpecs[name] != nil && lang.CheckSpecs[name].Wait.Canaries
	version, err := r.deployedVersion(ctx, ref)
	if err != nil {
		return err
	}
	onUpdate := func(s cluster.DeploymentStatus) {
		d := &cluster.Deployment{ID: s.ID, Status: s.Status, StatusDescription: s.Description, JobVersion: s.JobVersion, Groups: s.Groups}
		obs := checks.DeploymentObserved(job, version, d)
		res := checks.CanariesHealthy(obs, version, d)
		if !canaries {
			res.OK = s.Status == "successful"
			if !res.OK && res.Reason == "" {
				res.Reason = "the deployment has not finished: " + s.Description
			}
		}
		res.Name = name
		observe(res)
	}
	if canaries {
		// WatchDeployment returns once the canaries are healthy and wait
		// for promotion, or the deployment succeeded.
		_, err = r.cfg.Cluster.WatchDeployment(ctx, ref, version, onUpdate)
	} else {
		_, err = r.cfg.Cluster.WaitDeploymentDone(ctx, ref, version, onUpdate)
	}
	return err
}

// deployedVersion is the job version a deployment wait or a promotion is
// about: the one nomad_job_run registered in this run, else the job's
// current version. After an auto_revert the job's current version is the
// rollback's, whose deployment would succeed; the registered version's
// deployment is the one that failed.
func (r *runner) deployedVersion(ctx context.Context, ref cluster.JobRef) (uint64, error) {
	if v, ok := r.jobVersions.Load(ref.Namespace + "/" + ref.ID); ok {
		return v.(uint64), nil
	}
	if v, ok := r.jobVersions.Load("/" + ref.ID); ok && ref.Namespace == "" {
		return v.(uint64), nil
	}
	if v, ok := r.journaledVersion(ref.ID); ok {
		return v, nil
	}
	if err := r.needNomad(); err != nil {
		return 0, err
	}
	q := qo(ctx)
	// A stale follower may not have the registration of the step before.
	q.AllowStale = false
	if ref.Namespace != "" {
		q.Namespace = ref.Namespace
	}
	j, _, err := r.nomad.c.Jobs().Info(ref.ID, q)
	if err != nil {
		return 0, fmt.Errorf("read job %s: %w", ref.ID, err)
	}
	if j.Version == nil {
		return 0, nil
	}
	return *j.Version, nil
}

// journaledRE reads the version back from what jobRun and its resume
// probe wrote to the journal.
var journaledRE = regexp.MustCompile(`^(?:probe: )?(?:registered job (\S+) version (\d+) |job (\S+) already runs as planned \(version (\d+)\))`)

// journaledVersion is the version a nomad_job_run of this run registered
// before a resume, from the journal: after a crash or a Ctrl-C during the
// canary wait, an auto_revert may have moved the job on meanwhile, and the
// resumed wait must still follow the registered version's deployment.
func (r *runner) journaledVersion(job string) (uint64, bool) {
	for _, n := range r.order {
		// Only a job registration writes these details (jobRun and its
		// probe), so the pattern alone picks them out.
		if n.step == nil || n.step.Action == nil || n.state == nil {
			continue
		}
		m := journaledRE.FindStringSubmatch(n.state.Detail)
		if m == nil {
			continue
		}
		id, ver := m[1], m[2]
		if id == "" {
			id, ver = m[3], m[4]
		}
		if id != job {
			continue
		}
		if v, err := strconv.ParseUint(ver, 10, 64); err == nil {
			return v, true
		}
	}
	return 0, false
}

// registered records the version a nomad_job_run registered, for the
// deployment waits and promotions of this run.
func (r *runner) registered(namespace, job string, version uint64) {
	r.jobVersions.Store(namespace+"/"+job, version)
	if namespace == "" || namespace == "default" {
		r.jobVersions.Store("/"+job, version)
	}
}
