package planner

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/nrun-dev/nrun/addrs"
	"github.com/nrun-dev/nrun/lang"
)

// The preview must not show what comes from a sensitive variable: Resolve
// records, per nomad_job_run, which job variable values are secret.
func TestRecordJobRun(t *testing.T) {
	cases := map[string]struct {
		step        string
		wantVars    map[string]string
		wantSecrets []string
		unknown     bool
	}{
		"public vars": {
			step:     `vars = { version = var.version }`,
			wantVars: map[string]string{"version": "2"},
		},
		"one sensitive item": {
			step:        `vars = { version = var.version, token = var.token }`,
			wantVars:    map[string]string{"version": "2", "token": "s3cr3t-t0ken"},
			wantSecrets: []string{"s3cr3t-t0ken"},
		},
		"through a local": {
			step:        `vars = { version = var.version, auth = local.auth }`,
			wantVars:    map[string]string{"version": "2", "auth": "Bearer s3cr3t-t0ken"},
			wantSecrets: []string{"Bearer s3cr3t-t0ken", "s3cr3t-t0ken"},
		},
		"whole expression sensitive": {
			step:        `vars = merge({ version = var.version }, { token = var.token })`,
			wantVars:    map[string]string{"version": "2", "token": "s3cr3t-t0ken"},
			wantSecrets: []string{"2", "s3cr3t-t0ken"},
		},
		"known only during apply": {
			step:    `vars = { version = step.build.output }`,
			unknown: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			src := `
variable "version" { type = string }
variable "token" {
  type      = string
  sensitive = true
}
locals { auth = "Bearer ${var.token}" }
step "build" {
  action "exec" {
    command = ["echo", "3"]
    effect  = "none"
  }
}
step "deploy" {
  depends_on = [step.build]
  action "nomad_job_run" {
    jobspec = "web.nomad.hcl"
    ` + tc.step + `
  }
}
`
			if err := os.WriteFile(filepath.Join(dir, "rb.nrun.hcl"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			rb, diags := lang.Load(dir)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			inputs, diags := lang.InputValues(rb, []string{"version=2", "token=s3cr3t-t0ken"}, nil)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			p, diags := Resolve(rb, inputs, nil, ResolveOptions{})
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			ji := p.jobRuns["step.deploy"]
			if ji == nil {
				t.Fatal("no job run recorded for step.deploy")
			}
			if tc.unknown {
				if ji.unknown == "" {
					t.Errorf("want the arguments marked unknown, got vars %v", ji.vars)
				}
				PreviewJobs(context.Background(), p, nil, dir)
				if j := p.Instance("step.deploy").Action.Job; j == nil || j.Unavailable != ji.unknown {
					t.Errorf("preview = %+v, want unavailable: %s", j, ji.unknown)
				}
				return
			}
			if ji.jobspec != "web.nomad.hcl" || !reflect.DeepEqual(ji.vars, tc.wantVars) {
				t.Errorf("jobspec %q vars %v, want web.nomad.hcl %v", ji.jobspec, ji.vars, tc.wantVars)
			}
			got := append([]string(nil), ji.secrets...)
			sort.Strings(got)
			dedup := got[:0]
			for i, s := range got {
				if i == 0 || s != got[i-1] {
					dedup = append(dedup, s)
				}
			}
			if len(dedup) == 0 {
				dedup = nil
			}
			if !reflect.DeepEqual(dedup, tc.wantSecrets) {
				t.Errorf("secrets %q, want %q", dedup, tc.wantSecrets)
			}
		})
	}
}

func TestSecretReplacer(t *testing.T) {
	r := newSecretReplacer([]string{"s3cr3t-t0ken", "Bearer s3cr3t-t0ken", ""})
	got := r.replace(`+/- Env[AUTH]: "Bearer s3cr3t-t0ken" => "x"; token s3cr3t-t0ken`)
	if want := `+/- Env[AUTH]: "(sensitive)" => "x"; token (sensitive)`; got != want || r.tooShort {
		t.Errorf("got %q (tooShort %v), want %q", got, r.tooShort, want)
	}
	if short := newSecretReplacer([]string{"abc"}); !short.tooShort {
		t.Error("a 3-character secret is not reported as too short to redact")
	}
}

// apply PLANFILE registers with the index of the preview in the file, not
// with one read at apply.
func TestCopyJobPreviews(t *testing.T) {
	mk := func(j *JobPreview) *Plan {
		p := &Plan{}
		for _, addr := range []string{"step.deploy", "step.promote"} {
			a, err := addrs.ParseInstance(addr)
			if err != nil {
				t.Fatal(err)
			}
			p.Instances = append(p.Instances, &Instance{Addr: a, Action: &ActionPlan{Type: "nomad_job_run"}})
		}
		p.Instances[0].Action.Job = j
		p.Instances[1].Action.Type = "nomad_deployment_promote"
		return p
	}
	saved := mk(&JobPreview{JobID: "web", JobModifyIndex: 24, DiffType: "Edited"})
	fresh := mk(&JobPreview{JobID: "web", JobModifyIndex: 31, DiffType: "Edited"})
	CopyJobPreviews(fresh, saved)
	if idx, ok := fresh.Instances[0].Action.Job.CheckIndex(); !ok || idx != 24 {
		t.Errorf("check index after the copy = %d, %v; want the saved plan's 24", idx, ok)
	}
	if fresh.Instances[1].Action.Job != nil {
		t.Error("a preview was copied to an action that is not nomad_job_run")
	}
}
