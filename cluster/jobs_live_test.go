package cluster_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/sandbox"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

func TestMain(m *testing.M) { os.Exit(sandboxtest.Main(m)) }

// opsSandbox is the package's shared cluster: 3 Nomad servers, 2 raw_exec
// clients, 3 Consul servers. Tests leave it as they found it.
func opsSandbox(t *testing.T) (*sandbox.Cluster, *cluster.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts real agents; skipped with -short")
	}
	sb := sandboxtest.Shared(t, "ops", sandbox.DefaultSpec("", 3, 2, 3, sandbox.DefaultNomadVersion))
	env := map[string]string{}
	for _, kv := range sb.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	c, err := cluster.New(cluster.Config{}, cluster.WithGetenv(func(k string) string { return env[k] }), cluster.WithWaitTime(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return sb, c
}

// canaryJob has one raw_exec task whose command and argument come from
// variables, so a version can be made to fail. Its update block is the
// canary rollout of runbooks/jobs/web.nomad.hcl with test timings.
const canaryJob = `
variable "msg" {
  type = string
}
variable "cmd" {
  type    = string
  default = "/bin/sleep"
}
job "nrun-canary" {
  type = "service"
  group "app" {
    count = 1
    update {
      max_parallel      = 1
      canary            = 1
      auto_promote      = false
      auto_revert       = true
      min_healthy_time  = "1s"
      healthy_deadline  = "10s"
      progress_deadline = "30s"
    }
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "app" {
      driver = "raw_exec"
      config {
        command = var.cmd
        args    = ["3600"]
      }
      env {
        MSG = var.msg
      }
      resources {
        cpu    = 20
        memory = 16
      }
    }
  }
}
`

func TestLiveJobCanaryRollout(t *testing.T) {
	sandboxtest.Timer(t)
	sb, c := opsSandbox(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ref := cluster.JobRef{ID: "nrun-canary"}
	t.Cleanup(func() {
		if nc, err := sb.NomadClient(); err == nil {
			nc.Jobs().Deregister(ref.ID, true, nil)
		}
	})
	logUpdates := func(s cluster.DeploymentStatus) {
		t.Logf("deployment %s v%d %s %q promote=%v groups=%+v", s.ID[:8], s.JobVersion, s.Status, s.Description, s.NeedsPromotion, s.Groups)
	}

	// The server's parse errors come back with its position and message.
	if _, err := c.ParseJob(ctx, "job \"x\" {\n  group \"g\" {\n    count = \n}\n", nil); err == nil || !strings.Contains(err.Error(), "parse the jobspec") {
		t.Errorf("parse of broken HCL: %v", err)
	} else {
		t.Logf("broken HCL: %v", err)
	}
	if _, err := c.ParseJob(ctx, canaryJob, nil); err == nil {
		t.Error("parse without the required variable msg: no error")
	}

	// v1: a fresh job. check_index 0 means "must not exist yet".
	v1, err := c.ParseJob(ctx, canaryJob, map[string]string{"msg": "one"})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := c.PlanJob(ctx, v1)
	if err != nil {
		t.Fatal(err)
	}
	if p1.JobModifyIndex != 0 || p1.DiffType != "Added" || p1.Groups["app"].Place != 1 {
		t.Fatalf("plan of a new job: %+v", p1)
	}
	r1, err := c.RegisterJob(ctx, v1, p1.JobModifyIndex)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	s1, err := c.WatchDeployment(ctx, ref, r1.JobVersion, logUpdates)
	if err != nil || s1.Status != "successful" {
		t.Fatalf("v1 deployment: %+v, %v", s1, err)
	}
	t.Logf("v1 (version %d) successful after %s", r1.JobVersion, time.Since(t0).Round(100*time.Millisecond))
	// A second registration of v1 with the old index is refused; the
	// probe says v1 is in place, which is what a resumed step needs.
	if _, err := c.RegisterJob(ctx, v1, 0); !isConflict(err) {
		t.Fatalf("re-register with check_index 0: %v", err)
	}
	if in, ver, err := c.JobInPlace(ctx, v1); err != nil || !in || ver != r1.JobVersion {
		t.Fatalf("JobInPlace(v1) = %v, %d, %v", in, ver, err)
	}

	// v2: changed env. The plan shows the diff and a canary.
	v2, err := c.ParseJob(ctx, canaryJob, map[string]string{"msg": "two"})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.PlanJob(ctx, v2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan v2:\n%s", p2.Diff)
	if p2.DiffType != "Edited" || p2.JobModifyIndex != r1.JobModifyIndex || p2.Groups["app"].Canary != 1 ||
		!strings.Contains(p2.Diff, `+/- Env[MSG]: "one" => "two"`) || !strings.Contains(p2.Diff, `+/- Task Group: "app" (1 canary, 1 ignore)`) {
		t.Fatalf("plan v2: %+v", p2)
	}
	if in, _, err := c.JobInPlace(ctx, v2); err != nil || in {
		t.Fatalf("JobInPlace(v2) before registering = %v, %v", in, err)
	}

	// Someone changes the job between plan and register: refused.
	other, err := c.ParseJob(ctx, canaryJob, map[string]string{"msg": "someone else"})
	if err != nil {
		t.Fatal(err)
	}
	// Registering "other" would start its own deployment; planning it
	// and registering v1's exact definition again would not move the
	// index. So register other and watch it to the end, then plan v2
	// again: the stale index must be refused.
	ro, err := c.RegisterJob(ctx, other, p2.JobModifyIndex)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.RegisterJob(ctx, v2, p2.JobModifyIndex)
	var conflict *cluster.IndexConflictError
	if !errors.As(err, &conflict) || conflict.Current != ro.JobModifyIndex || !conflict.Exists {
		t.Fatalf("register v2 with a stale check_index: %v", err)
	}
	t.Logf("refused as expected: %v", err)
	// other's canary needs promotion; promote it so the job is stable
	// again before v2.
	so, err := c.WatchDeployment(ctx, ref, ro.JobVersion, logUpdates)
	if err != nil || !so.NeedsPromotion {
		t.Fatalf("other's deployment: %+v, %v", so, err)
	}
	if _, err := c.PromoteDeployment(ctx, cluster.DeploymentTarget{Job: ref}, nil); err != nil {
		t.Fatal(err)
	}
	if so, err = c.WatchDeployment(ctx, ref, ro.JobVersion, logUpdates); err != nil || so.Status != "successful" {
		t.Fatalf("other's deployment after promotion: %+v, %v", so, err)
	}

	// v2 with a fresh plan: canary, promotion, success.
	p2, err = c.PlanJob(ctx, v2)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.RegisterJob(ctx, v2, p2.JobModifyIndex)
	if err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	s2, err := c.WatchDeployment(ctx, ref, r2.JobVersion, logUpdates)
	if err != nil || !s2.NeedsPromotion || s2.Status != "running" || s2.Groups["app"].PlacedCanaries != 1 {
		t.Fatalf("v2 deployment before promotion: %+v, %v", s2, err)
	}
	t.Logf("v2 canary healthy after %s", time.Since(t0).Round(100*time.Millisecond))
	pr, err := c.PromoteDeployment(ctx, cluster.DeploymentTarget{DeploymentID: s2.ID}, []string{"app"})
	if err != nil || pr.AlreadyPromoted || pr.DeploymentID != s2.ID {
		t.Fatalf("promote: %+v, %v", pr, err)
	}
	// The probe: a second promotion sends nothing.
	if pr, err := c.PromoteDeployment(ctx, cluster.DeploymentTarget{Job: ref}, nil); err != nil || !pr.AlreadyPromoted {
		t.Fatalf("second promote: %+v, %v", pr, err)
	}
	s2, err = c.WaitDeploymentDone(ctx, ref, r2.JobVersion, logUpdates)
	if err != nil || s2.Status != "successful" {
		t.Fatalf("v2 deployment after promotion: %+v, %v", s2, err)
	}
	t.Logf("v2 (version %d) successful %s after registration", r2.JobVersion, time.Since(t0).Round(100*time.Millisecond))

	// v3: the task exits at once. The canary fails, the deployment fails
	// and auto_revert puts the job back on v2.
	v3, err := c.ParseJob(ctx, canaryJob, map[string]string{"msg": "three", "cmd": "/bin/false"})
	if err != nil {
		t.Fatal(err)
	}
	p3, err := c.PlanJob(ctx, v3)
	if err != nil {
		t.Fatal(err)
	}
	r3, err := c.RegisterJob(ctx, v3, p3.JobModifyIndex)
	if err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	s3, err := c.WatchDeployment(ctx, ref, r3.JobVersion, logUpdates)
	var derr *cluster.DeploymentError
	if !errors.As(err, &derr) || s3.Status != "failed" || s3.RevertedTo == nil || *s3.RevertedTo != r2.JobVersion || s3.CurrentJobVersion <= r3.JobVersion {
		t.Fatalf("v3 deployment: %+v, %v", s3, err)
	}
	t.Logf("v3 failed after %s: %v", time.Since(t0).Round(100*time.Millisecond), err)
	if !strings.Contains(err.Error(), "auto_revert rolled the job back to version") {
		t.Errorf("error does not mention the revert: %v", err)
	}
	if _, err := c.PromoteDeployment(ctx, cluster.DeploymentTarget{DeploymentID: s3.ID}, nil); err == nil || !strings.Contains(err.Error(), "cannot be promoted") {
		t.Errorf("promote a failed deployment: %v", err)
	}
	// A watch for a version that never comes ends with its context.
	short, stop := context.WithTimeout(ctx, time.Second)
	t0 = time.Now()
	_, err = c.WatchDeployment(short, ref, 1000, nil)
	stop()
	var cerr *cluster.Error
	if !errors.As(err, &cerr) || cerr.Problem != cluster.ProblemCanceled || time.Since(t0) > 5*time.Second {
		t.Errorf("watch past its context: %v after %s", err, time.Since(t0))
	}
	// The job runs v2's definition again: the revert probe says so.
	rv, err := c.RevertJob(ctx, ref, r2.JobVersion, nil)
	if err != nil || !rv.AlreadyOnVersion {
		t.Fatalf("RevertJob to v2 after auto_revert: %+v, %v", rv, err)
	}

	// A manual revert to v1's definition, enforced against a stale prior
	// version, is refused; against the current one it goes through.
	stale := r2.JobVersion
	if _, err := c.RevertJob(ctx, ref, r1.JobVersion, &stale); err == nil || !strings.Contains(err.Error(), "no longer at version") {
		t.Fatalf("revert enforcing a stale version: %v", err)
	}
	cur := s3.CurrentJobVersion
	rv, err = c.RevertJob(ctx, ref, r1.JobVersion, &cur)
	if err != nil || rv.AlreadyOnVersion || rv.JobVersion <= cur {
		t.Fatalf("revert to v1: %+v, %v", rv, err)
	}
	if rv2, err := c.RevertJob(ctx, ref, r1.JobVersion, &cur); err != nil || !rv2.AlreadyOnVersion {
		t.Fatalf("second revert to v1 (probe): %+v, %v", rv2, err)
	}
	if in, _, err := c.JobInPlace(ctx, v1); err != nil || !in {
		t.Fatalf("after the revert to v1, JobInPlace(v1) = %v, %v", in, err)
	}
}

func isConflict(err error) bool {
	var c *cluster.IndexConflictError
	return errors.As(err, &c)
}
