package e2e

import (
	"bytes"
	"fmt"
	"github.com/nrun-dev/nrun/e2e/e2etest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nrun-dev/nrun/sandbox"
)

// canaryFast are jobspec variables that shorten web's update deadlines so
// a rollout takes seconds, not minutes.
var canaryFast = map[string]string{
	"min_healthy_time":  "1s",
	"healthy_deadline":  "30s",
	"progress_deadline": "1m",
}

// jobVarsFlag renders vars as the runbook's job_vars variable.
func jobVarsFlag(vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%q", k, vars[k]))
	}
	return "job_vars={" + strings.Join(parts, ",") + "}"
}

func withVars(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// startWeb registers web version 1 behind nrun's back with vars and waits
// until its deployment succeeded (so version 0 is stable, the version an
// auto_revert goes back to) and 3 allocations run.
func (e *env) startWeb(vars map[string]string) {
	e.T.Helper()
	e.RegisterJob(filepath.Join(e2etest.RunbooksDir(e.T), "jobs", "web.nomad.hcl"), withVars(vars, "version", "1"), 3)
	e.waitDeployment("web", 0, "successful", 2*time.Minute)
}

// waitDeployment waits until the deployment of job's version is in status.
func (e *env) waitDeployment(job string, version uint64, status string, timeout time.Duration) *nomad.Deployment {
	e.T.Helper()
	var found *nomad.Deployment
	e2etest.Eventually(e.T, fmt.Sprintf("deployment of %s v%d %s", job, version, status), timeout, func() (bool, string) {
		ds, _, err := e.Nomad().Jobs().Deployments(job, false, nil)
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		for _, d := range ds {
			seen = append(seen, fmt.Sprintf("v%d %s", d.JobVersion, d.Status))
			if d.JobVersion == version && d.Status == status {
				found = d
				return true, ""
			}
		}
		return false, strings.Join(seen, ", ")
	})
	return found
}

// webAllocs counts the running allocations of web per WEB_VERSION of the
// job version they run.
func (e *env) webAllocs() (map[string]int, error) {
	allocs, _, err := e.Nomad().Jobs().Allocations("web", false, nil)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, stub := range allocs {
		if stub.ClientStatus != nomad.AllocClientStatusRunning {
			continue
		}
		a, _, err := e.Nomad().Allocations().Info(stub.ID, nil)
		if err != nil {
			return nil, err
		}
		t := a.Job.TaskGroups[0].Tasks[0]
		out[fmt.Sprintf("v%d %s", *a.Job.Version, t.Env["WEB_VERSION"])]++
	}
	return out, nil
}

func webTask(t testing.TB, j *nomad.Job) *nomad.Task {
	t.Helper()
	if len(j.TaskGroups) != 1 || len(j.TaskGroups[0].Tasks) != 1 {
		t.Fatalf("job web has an unexpected shape: %d groups", len(j.TaskGroups))
	}
	return j.TaskGroups[0].Tasks[0]
}

// TestCanaryRollout rolls web from version 1 to 2 with the runbook: the
// plan shows the servers' diff of the task's args, the saved plan is
// applied unattended (canary healthy, promoted, deployment successful),
// and a saved plan whose job changed behind nrun's back is refused.
func TestCanaryRollout(t *testing.T) {
	e := newEnv(t, sandbox.DefaultSpec("", 3, 2, 0, "1.10.0"))
	rb := filepath.Join(e2etest.RunbooksDir(t), "job-canary-rollout.nrun.hcl")
	state := filepath.Join(e.Dir, "state")
	jobVars := jobVarsFlag(canaryFast)

	// v1 through the runbook too: a new job's first deployment has no
	// canary, so the canary wait holds once it succeeds and there is
	// nothing to promote.
	first := e.Nrun("apply", "-no-color", "-auto-approve", "-state-dir", filepath.Join(e.Dir, "state-v1"), "-var", "version=1", "-var", jobVars, rb)
	t.Logf("v1 apply took %s", first.Took.Round(time.Millisecond))
	if first.Code != 0 || !strings.Contains(first.Stdout, "job web (namespace default, new: apply registers it only if it still does not exist): new job") ||
		!strings.Contains(first.Stdout, "is already successful; nothing sent") {
		t.Fatalf("v1 apply: want exit 0, a new job in the plan and nothing to promote\n%s", first)
	}
	e.WaitRunning("web", 3, time.Minute)

	// The plan shows the job diff as the servers computed it.
	pr := e.Nrun("plan", "-detailed-exitcode", "-no-color", "-var", "version=2", "-var", jobVars, rb)
	t.Logf("plan took %s", pr.Took.Round(time.Millisecond))
	if pr.Code != 2 {
		t.Fatalf("plan: want exit 2 (changes)\n%s", pr)
	}
	v1, _, err := e.Nomad().Jobs().Info("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("job web (namespace default, JobModifyIndex %d at plan time: apply registers it only if unchanged): changes", *v1.JobModifyIndex),
		`+/- Job: "web"`,
		`+/- Task Group: "web" (1 canary, 3 ignore)`,
		`+/- Task: "web" (forces create/destroy update)`,
		`+/- args[1]: "echo web version 1; exec sleep 3600" => "echo web version 2; exec sleep 3600"`,
		`+/- Env[WEB_VERSION]: "1" => "2"`,
	} {
		if !strings.Contains(pr.Stdout, want) {
			t.Errorf("plan output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("%s", pr)
	}

	// A jobspec the servers refuse is a warning in the plan, at the
	// jobspec argument, and the plan says it has no diff.
	bad := e.Nrun("plan", "-detailed-exitcode", "-no-color", "-var", "version=2", "-var", jobVarsFlag(withVars(canaryFast, "restart_attempts", "many")), rb)
	if bad.Code != 2 || !strings.Contains(bad.Stdout, "Warning: The servers cannot parse the jobspec (") || !strings.Contains(bad.Stdout, "job diff not available: ") {
		t.Errorf("plan with a jobspec the servers refuse: want exit 2 with a warning and no diff\n%s", bad)
	}
	t.Logf("refused jobspec: %s", firstLine(bad.Stdout, "job diff not available"))

	// Saved, then applied unattended.
	planFile := filepath.Join(e.Dir, "v2.plan")
	if r := e.Nrun("plan", "-detailed-exitcode", "-out", planFile, "-var", "version=2", "-var", jobVars, rb); r.Code != 2 {
		t.Fatalf("plan -out: %s", r)
	}
	ar := e.Nrun("apply", "-no-color", "-state-dir", state, planFile)
	t.Logf("apply took %s:\n%s", ar.Took.Round(time.Millisecond), ar.Stdout)
	if ar.Code != 0 {
		t.Fatalf("apply: %s", ar)
	}
	for _, want := range []string{"registered job web version 1 (JobModifyIndex", fmt.Sprintf("it was still at JobModifyIndex %d, as when planned", *v1.JobModifyIndex), "deployment_canaries_healthy", "promoted deployment"} {
		if !strings.Contains(ar.Stdout+ar.Stderr, want) {
			t.Errorf("apply output lacks %q", want)
		}
	}

	// The job is on its version 1 (web version 2), promoted, successful.
	j, _, err := e.Nomad().Jobs().Info("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	task := webTask(t, j)
	if *j.Version != 1 || task.Env["WEB_VERSION"] != "2" || !strings.Contains(fmt.Sprint(task.Config["args"]), "echo web version 2") {
		t.Errorf("job web: version %d, WEB_VERSION %q, args %v; want version 1 running web 2", *j.Version, task.Env["WEB_VERSION"], task.Config["args"])
	}
	d, _, err := e.Nomad().Jobs().LatestDeployment("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	g := d.TaskGroups["web"]
	if d.JobVersion != 1 || d.Status != nomad.DeploymentStatusSuccessful || g == nil || g.DesiredCanaries != 1 || !g.Promoted {
		t.Errorf("deployment %s: job version %d %s, group %+v; want version 1 successful with its canary promoted", d.ID, d.JobVersion, d.Status, g)
	}
	e2etest.Eventually(t, "3 allocations of web 2 running, none of web 1", time.Minute, func() (bool, string) {
		n, err := e.webAllocs()
		if err != nil {
			return false, err.Error()
		}
		return len(n) == 1 && n["v1 2"] == 3, fmt.Sprint(n)
	})
	if t.Failed() {
		t.Fatalf("%s", ar)
	}

	// A job variable from a sensitive variable stays out of the diff, in
	// every form of the plan.
	secretRB := filepath.Join(e.Dir, "secret.nrun.hcl")
	secretSrc := fmt.Sprintf(`variable "build" {
  type      = string
  sensitive = true
}
step "deploy" {
  action "nomad_job_run" {
    jobspec = %q
    vars    = { version = var.build, min_healthy_time = "1s", healthy_deadline = "30s", progress_deadline = "1m" }
  }
}
`, filepath.Join(e2etest.RunbooksDir(t), "jobs", "web.nomad.hcl"))
	if err := os.WriteFile(secretRB, []byte(secretSrc), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, form := range []string{"-no-color", "-json", "-markdown"} {
		r := e.Nrun("plan", "-detailed-exitcode", form, "-var", "build=s3cr3t-build-7", secretRB)
		// JSON escapes the quotes and the > of =>.
		out := strings.NewReplacer(`\"`, `"`, `\u003e`, ">").Replace(r.Stdout)
		if r.Code != 2 || strings.Contains(r.Stdout+r.Stderr, "s3cr3t-build-7") || !strings.Contains(out, `Env[WEB_VERSION]: "2" => "(sensitive)"`) {
			t.Errorf("plan %s with a sensitive job variable: want exit 2, the value redacted in the diff\n%s", form, r)
		}
	}

	// A saved plan is refused when the job changed after it was made:
	// first by the plan's fingerprint (the runbook's promote step reads
	// the job), then, for a runbook that only registers it, by Nomad
	// itself, with the JobModifyIndex recorded in the plan's job diff.
	stale := filepath.Join(e.Dir, "v3.plan")
	if r := e.Nrun("plan", "-detailed-exitcode", "-out", stale, "-var", "version=3", "-var", jobVars, rb); r.Code != 2 {
		t.Fatalf("plan -out v3: %s", r)
	}
	deployOnly := filepath.Join(e.Dir, "deploy-only.nrun.hcl")
	jobspec := filepath.Join(e2etest.RunbooksDir(t), "jobs", "web.nomad.hcl")
	src := fmt.Sprintf(`step "deploy" {
  action "nomad_job_run" {
    jobspec = %q
    vars    = { version = "3", min_healthy_time = "1s", healthy_deadline = "30s", progress_deadline = "1m" }
  }
}
`, jobspec)
	if err := os.WriteFile(deployOnly, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	staleOnly := filepath.Join(e.Dir, "deploy-only.plan")
	if r := e.Nrun("plan", "-detailed-exitcode", "-out", staleOnly, deployOnly); r.Code != 2 {
		t.Fatalf("plan -out deploy-only: %s", r)
	}
	// Someone else scales the job: a change nrun must not overwrite.
	if _, _, err := e.Nomad().Jobs().Scale("web", "web", intPtr(2), "someone else", false, nil, nil); err != nil {
		t.Fatal(err)
	}
	changed, _, err := e.Nomad().Jobs().Info("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *changed.JobModifyIndex == *j.JobModifyIndex {
		t.Fatalf("scaling did not move JobModifyIndex (%d)", *j.JobModifyIndex)
	}
	r := e.Nrun("apply", "-no-color", "-state-dir", state, stale)
	if r.Code != 1 || !strings.Contains(r.Stderr, fmt.Sprintf("Saved plan is stale: job default/web: JobModifyIndex %d -> %d", *j.JobModifyIndex, *changed.JobModifyIndex)) {
		t.Errorf("apply of the stale plan: want exit 1 naming the job's JobModifyIndex change\n%s", r)
	}
	t.Logf("stale plan refused: %s", firstLine(r.Stderr, "Saved plan is stale"))
	r = e.Nrun("apply", "-no-color", "-state-dir", filepath.Join(e.Dir, "state2"), staleOnly)
	want := fmt.Sprintf("job web changed since the plan was made: the plan's diff was computed against JobModifyIndex %d, but its JobModifyIndex is now %d. Nomad refused to register it", *j.JobModifyIndex, *changed.JobModifyIndex)
	if r.Code != 1 || !strings.Contains(r.Stdout+r.Stderr, want) {
		t.Errorf("apply of the deploy-only plan: want exit 1 with %q\n%s", want, r)
	}
	t.Logf("register refused: %s", firstLine(r.Stdout+r.Stderr, "changed since the plan"))
	after, _, err := e.Nomad().Jobs().Info("web", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *after.JobModifyIndex != *changed.JobModifyIndex || webTask(t, after).Env["WEB_VERSION"] != "2" || *after.TaskGroups[0].Count != 2 {
		t.Errorf("job web was touched: JobModifyIndex %d (want %d), WEB_VERSION %q, count %d", *after.JobModifyIndex, *changed.JobModifyIndex, webTask(t, after).Env["WEB_VERSION"], *after.TaskGroups[0].Count)
	}
}

func intPtr(n int) *int { return &n }

func firstLine(s, containing string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, containing) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// TestCanaryAutoRevert rolls out a version whose canary exits at once:
// the deployment fails, auto_revert puts the job back on version 1, and
// the run fails at once naming the deployment and the revert, with the
// journal saying so, and web 1 still running.
func TestCanaryAutoRevert(t *testing.T) {
	e := newEnv(t, sandbox.DefaultSpec("", 3, 2, 0, "1.10.0"))
	rb := filepath.Join(e2etest.RunbooksDir(t), "job-canary-rollout.nrun.hcl")
	state := filepath.Join(e.Dir, "state")
	// No restarts and no progress deadline: the failed canary fails the
	// deployment at once instead of being rescheduled until the deadline.
	fast := withVars(canaryFast, "restart_attempts", "0", "progress_deadline", "0s")

	start := time.Now()
	e.startWeb(fast)
	t.Logf("v1 running and stable after %s", time.Since(start).Round(time.Millisecond))

	ar := e.Nrun("apply", "-no-color", "-auto-approve", "-state-dir", state,
		"-var", "version=2", "-var", jobVarsFlag(withVars(fast, "command", "exit 1")), rb)
	t.Logf("apply took %s", ar.Took.Round(time.Millisecond))
	out := ar.Stdout + ar.Stderr
	if ar.Code != 1 {
		t.Fatalf("apply: want exit 1 (the canary failed)\n%s", ar)
	}
	for _, want := range []string{
		"step.deploy",
		"wait deployment_canaries_healthy: deployment ",
		"of job web version 1 failed: Failed due to unhealthy allocations - rolling back to job version 0",
		"auto_revert rolled the job back to version 0 (now running as version 2); the new version is not running",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output lacks %q", want)
		}
	}
	if strings.Contains(out, "promoted deployment") {
		t.Error("the failed canary was promoted")
	}
	if t.Failed() {
		t.Fatalf("%s", ar)
	}
	t.Logf("failure: %s", firstLine(out, "auto_revert rolled"))

	// The journal agrees: deploy failed, promote never started.
	st := e.Nrun("status", "-state-dir", state)
	if st.Code != 2 || !lineWith(st.Stdout, "step.deploy", "failed") || !lineWith(st.Stdout, "step.promote", "not started") {
		t.Errorf("status: want exit 2 with step.deploy failed and step.promote not started\n%s", st)
	}
	t.Logf("nrun status:\n%s", st.Stdout)

	// The job is back on web 1: version 2 copies version 0.
	e2etest.Eventually(t, "web back on version 1 with 3 allocations running", time.Minute, func() (bool, string) {
		j, _, err := e.Nomad().Jobs().Info("web", nil)
		if err != nil {
			return false, err.Error()
		}
		task := webTask(t, j)
		if *j.Version != 2 || task.Env["WEB_VERSION"] != "1" || !strings.Contains(fmt.Sprint(task.Config["args"]), "exec sleep 3600") {
			return false, fmt.Sprintf("job version %d, WEB_VERSION %q, args %v", *j.Version, task.Env["WEB_VERSION"], task.Config["args"])
		}
		n, err := e.webAllocs()
		if err != nil {
			return false, err.Error()
		}
		running := 0
		for k, c := range n {
			if !strings.HasSuffix(k, " 1") {
				return false, fmt.Sprint(n)
			}
			running += c
		}
		return running == 3, fmt.Sprint(n)
	})
}

// lineWith reports whether one line of s contains all of parts.
func lineWith(s string, parts ...string) bool {
	for _, l := range strings.Split(s, "\n") {
		ok := true
		for _, p := range parts {
			if !strings.Contains(l, p) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// TestCanaryRevertWhileInterrupted stops the run (Ctrl-C) while it waits
// for the canary, lets the canary fail and Nomad revert the job meanwhile,
// then resumes: the resumed wait follows the deployment of the version the
// run registered (read back from the journal), so it fails naming the
// revert instead of taking the rollback for a successful rollout.
func TestCanaryRevertWhileInterrupted(t *testing.T) {
	e := newEnv(t, sandbox.DefaultSpec("", 3, 2, 0, "1.10.0"))
	rb := filepath.Join(e2etest.RunbooksDir(t), "job-canary-rollout.nrun.hcl")
	state := filepath.Join(e.Dir, "state")
	fast := withVars(canaryFast, "restart_attempts", "0", "progress_deadline", "0s")
	e.startWeb(fast)

	// The canary runs 4s, then fails; it cannot become healthy before.
	args := []string{"-no-color", "-state-dir", state, "-var", "version=2",
		"-var", jobVarsFlag(withVars(fast, "min_healthy_time", "20s", "command", "sleep 4; exit 1"))}
	cmd := exec.Command(e2etest.NrunBin, append(append([]string{"apply", "-auto-approve"}, args...), rb)...)
	cmd.Dir, cmd.Env = e.Dir, e.Environ()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e2etest.Eventually(t, "web version 1 registered", 30*time.Second, func() (bool, string) {
		j, _, err := e.Nomad().Jobs().Info("web", nil)
		if err != nil {
			return false, err.Error()
		}
		return *j.Version == 1, fmt.Sprintf("version %d", *j.Version)
	})
	time.Sleep(500 * time.Millisecond) // into the wait
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("interrupted apply: %v, want exit 130\n%s", err, out.String())
	}
	t.Logf("interrupted:\n%s", out.String())

	e.waitDeployment("web", 1, "failed", time.Minute)
	e2etest.Eventually(t, "web reverted", 30*time.Second, func() (bool, string) {
		j, _, err := e.Nomad().Jobs().Info("web", nil)
		if err != nil {
			return false, err.Error()
		}
		return *j.Version == 2, fmt.Sprintf("version %d", *j.Version)
	})

	r := e.Nrun(append(append([]string{"apply", "-resume"}, args...), rb)...)
	t.Logf("resume took %s", r.Took.Round(time.Millisecond))
	res := r.Stdout + r.Stderr
	if r.Code != 1 || !strings.Contains(res, "of job web version 1 failed: Failed due to unhealthy allocations - rolling back to job version 0") ||
		!strings.Contains(res, "auto_revert rolled the job back to version 0 (now running as version 2)") || strings.Contains(res, "promoted deployment") {
		t.Fatalf("resume after the revert: want exit 1 naming the failed deployment and the revert\n%s", r)
	}
	t.Logf("resumed run: %s", firstLine(res, "auto_revert rolled"))
}
