package cluster_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// A watch that starts after auto_revert already rolled the job back still
// reports the failed deployment of the version it asked for, with the
// revert, and not the rollback's own deployment as the job's latest.
func TestLiveWatchAfterRevert(t *testing.T) {
	sandboxtest.Timer(t)
	sb, c := opsSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// canaryJob's ID: the tests of this package run one at a time, and
	// each removes the job when done.
	ref := cluster.JobRef{ID: "nrun-canary"}
	nc, err := sb.NomadClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Jobs().Deregister(ref.ID, true, nil) })

	v1, err := c.ParseJob(ctx, canaryJob, map[string]string{"msg": "one"})
	if err != nil {
		t.Fatal(err)
	}
	r1, err := c.RegisterJob(ctx, v1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitDeploymentDone(ctx, ref, r1.JobVersion, nil); err != nil {
		t.Fatal(err)
	}
	// v2's canary exits at once; nobody watches while Nomad reverts.
	v2, err := c.ParseJob(ctx, canaryJob, map[string]string{"msg": "two", "cmd": "/bin/false"})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.RegisterJob(ctx, v2, r1.JobModifyIndex)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		j, _, err := nc.Jobs().Info(ref.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *j.Version > r2.JobVersion {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still at version %d a minute after its canary failed", *j.Version)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if d, _, err := nc.Jobs().LatestDeployment(ref.ID, nil); err == nil && d != nil {
		t.Logf("latest deployment after the revert: v%d %s", d.JobVersion, d.Status)
	}

	st, err := c.WatchDeployment(ctx, ref, r2.JobVersion, nil)
	var de *cluster.DeploymentError
	if !errors.As(err, &de) || st.Status != "failed" || st.JobVersion != r2.JobVersion || st.RevertedTo == nil || *st.RevertedTo != r1.JobVersion || st.CurrentJobVersion <= r2.JobVersion {
		t.Fatalf("watch of v%d after the revert: status %+v, err %v; want its failed deployment with the revert to v%d", r2.JobVersion, st, err, r1.JobVersion)
	}
	t.Logf("watch after the revert: %v", err)

	// Someone registers v3 meanwhile: its deployment is now the job's
	// latest, and a watch of v1 still reports what became of v1.
	cur, _, err := nc.Jobs().Info(ref.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	v3, err := c.ParseJob(ctx, canaryJob, map[string]string{"msg": "three"})
	if err != nil {
		t.Fatal(err)
	}
	r3, err := c.RegisterJob(ctx, v3, *cur.JobModifyIndex)
	if err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(time.Minute)
	for {
		d, _, err := nc.Jobs().LatestDeployment(ref.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d != nil && d.JobVersion == r3.JobVersion {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no deployment of v%d after a minute", r3.JobVersion)
		}
		time.Sleep(200 * time.Millisecond)
	}
	st, err = c.WatchDeployment(ctx, ref, r2.JobVersion, nil)
	if !errors.As(err, &de) || st.Status != "failed" || st.JobVersion != r2.JobVersion || st.RevertedTo == nil || *st.RevertedTo != r1.JobVersion {
		t.Fatalf("watch of v%d once v%d deploys: status %+v, err %v; want its failed deployment with the revert to v%d", r2.JobVersion, r3.JobVersion, st, err, r1.JobVersion)
	}
	t.Logf("watch once a later version deploys: %v", err)
}
