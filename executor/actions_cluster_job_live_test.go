package executor

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/sandbox/sandboxtest"
)

// execCanaryJob is a canary rollout in pool blue whose environment comes
// from a variable, so each msg is a new version.
const execCanaryJob = `
variable "msg" {
  type = string
}
job "nrun-exec-canary" {
  type      = "service"
  node_pool = "blue"
  group "app" {
    count = 1
    update {
      max_parallel      = 1
      canary            = 1
      auto_promote      = false
      auto_revert       = false
      min_healthy_time  = "1s"
      healthy_deadline  = "20s"
      progress_deadline = "40s"
    }
    task "app" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["3600"]
      }
      env {
        MSG = var.msg
      }
      resources {
        cpu    = 20
        memory = 16
      }
      kill_timeout = "1s"
    }
  }
}
`

// jobRunbook registers the job with msg at check_index, then waits for
// its deployment; with promote, it promotes the canary in between.
func jobRunbook(msg string, checkIndex uint64, promote bool) string {
	src := fmt.Sprintf(`
step "deploy" {
  action "nomad_job_run" {
    jobspec     = "job.nomad.hcl"
    check_index = %d
    vars        = { msg = %q }
  }
}
`, checkIndex, msg)
	last := "step.deploy"
	if promote {
		src += `
step "promote" {
  depends_on = [step.deploy]
  action "nomad_deployment_promote" {
    job = "nrun-exec-canary"
  }
}
`
		last = "step.promote"
	}
	src += fmt.Sprintf(`
step "settled" {
  depends_on = [%s]
  action "sleep" {
    duration = "0s"
  }
  wait "deployment_successful" {
    job     = "nrun-exec-canary"
    timeout = "1m"
  }
}
`, last)
	return src
}

// TestLiveJobActions registers a job, rolls a canary version out with
// nomad_job_run + nomad_deployment_promote, reverts it with
// nomad_job_revert, has a stale check_index refused, and resumes an
// in-doubt registration whose job is already in place.
func TestLiveJobActions(t *testing.T) {
	e := live(t)
	sandboxtest.Timer(t)
	api := e.api(t)
	t.Cleanup(func() { api.Jobs().Deregister("nrun-exec-canary", true, nil) })
	api.Jobs().Deregister("nrun-exec-canary", true, nil)
	ctx := context.Background()
	run := func(src string) (*Result, string) {
		t.Helper()
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "job.nomad.hcl"), []byte(execCanaryJob), 0o644)
		ev := &eventLog{}
		res, err := Run(ctx, e.liveConfig(t, dir, src, ev))
		if err != nil {
			t.Fatal(err)
		}
		var failed []string
		for _, x := range ev.ev {
			if x.Kind == EventFailed {
				failed = append(failed, x.Message)
			}
		}
		return res, strings.Join(failed, "\n")
	}
	modifyIndex := func() uint64 {
		j, _, err := api.Jobs().Info("nrun-exec-canary", nil)
		if err != nil {
			t.Fatal(err)
		}
		return *j.JobModifyIndex
	}
	env := func() (uint64, string) {
		j, _, err := api.Jobs().Info("nrun-exec-canary", nil)
		if err != nil {
			t.Fatal(err)
		}
		return *j.Version, j.TaskGroups[0].Tasks[0].Env["MSG"]
	}

	// v0: a new job (check_index 0: only if it does not exist).
	if res, failed := run(jobRunbook("one", 0, false)); res.Status != journal.StatusFinished {
		t.Fatalf("first registration: %+v %s\n%s", res, failed, runLog(res))
	}
	if v, msg := env(); v != 0 || msg != "one" {
		t.Fatalf("after the first run: version %d msg %q", v, msg)
	}
	// v1: a canary that the promote step promotes.
	if res, failed := run(jobRunbook("two", modifyIndex(), true)); res.Status != journal.StatusFinished {
		t.Fatalf("canary rollout: %+v %s\n%s", res, failed, runLog(res))
	}
	if v, msg := env(); v != 1 || msg != "two" {
		t.Fatalf("after the rollout: version %d msg %q", v, msg)
	}
	d, _, err := api.Jobs().LatestDeployment("nrun-exec-canary", nil)
	if err != nil || d == nil || d.Status != "successful" || d.JobVersion != 1 {
		t.Fatalf("latest deployment: %+v %v", d, err)
	}
	// A stale check_index is refused with a message saying why.
	stale := modifyIndex() - 1
	res, failed := run(jobRunbook("three", stale, false))
	if res.Status != journal.StatusFailed || !strings.Contains(failed, "changed since it was planned") {
		t.Fatalf("stale check_index: %+v failures %q", res, failed)
	}
	t.Logf("stale check_index: %s", failed)
	if v, _ := env(); v != 1 {
		t.Fatalf("the refused registration changed the job: version %d", v)
	}
	// Revert to v0: a new version with v0's definition; a second revert
	// sends nothing.
	revert := `
step "revert" {
  action "nomad_job_revert" {
    job     = "nrun-exec-canary"
    version = 0
  }
}
`
	if res, failed := run(revert); res.Status != journal.StatusFinished {
		t.Fatalf("revert: %+v %s\n%s", res, failed, runLog(res))
	}
	if v, msg := env(); v != 2 || msg != "one" {
		t.Fatalf("after the revert: version %d msg %q", v, msg)
	}
	res, _ = run(revert)
	if v, _ := env(); res.Status != journal.StatusFinished || v != 2 || !strings.Contains(actionDetail(res, "step.revert"), "nothing sent") {
		t.Fatalf("second revert: version %d %+v: %q", v, res, actionDetail(res, "step.revert"))
	}

	// In doubt: the registration of the definition the job already runs
	// is done; of another definition, it is run again.
	for _, tc := range []struct {
		msg   string
		want  probeOutcome
		reran bool
	}{{"one", probeDone, false}, {"four", probeRedo, true}} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "job.nomad.hcl"), []byte(execCanaryJob), 0o644)
		cfg := e.liveConfig(t, dir, fmt.Sprintf(`
step "deploy" {
  action "nomad_job_run" {
    jobspec     = "job.nomad.hcl"
    check_index = %d
    vars        = { msg = %q }
  }
}
`, modifyIndex(), tc.msg), nil)
		probe, reran, res := runInDoubt(t, cfg, "step.deploy", "nomad_job_run")
		if res.Status != journal.StatusFinished || probe.Status != string(tc.want) || reran != tc.reran {
			t.Fatalf("registration of %q in doubt: probe %+v reran %v %+v\n%s", tc.msg, probe, reran, res, runLog(res))
		}
	}
	if v, msg := env(); v != 3 || msg != "four" {
		t.Fatalf("after the redone registration: version %d msg %q", v, msg)
	}
}

// actionDetail is the journalled detail of addr's completed action.
func actionDetail(res *Result, addr string) string {
	recs, _ := journal.Read(filepath.Join(res.RunDir, journal.FileName))
	for _, r := range recs {
		if r.Kind == journal.KindActionDone && r.Addr == addr {
			return r.Detail
		}
	}
	return ""
}
