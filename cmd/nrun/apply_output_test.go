package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/lang"
	"github.com/nrun-dev/nrun/planner"
)

func TestChooseApplyOutput(t *testing.T) {
	tests := map[string]struct {
		json, noProgress, tty bool
		env                   map[string]string
		want                  applyOutput
	}{
		"terminal":                 {tty: true, env: map[string]string{"TERM": "xterm-256color"}, want: outputProgress},
		"pipe":                     {want: outputText},
		"json on a terminal":       {json: true, tty: true, want: outputJSON},
		"json in CI":               {json: true, env: map[string]string{"CI": "true"}, want: outputJSON},
		"-no-progress on terminal": {noProgress: true, tty: true, want: outputText},
		"TERM=dumb":                {tty: true, env: map[string]string{"TERM": "dumb"}, want: outputText},
		"CI on a pseudo-terminal":  {tty: true, env: map[string]string{"CI": "1"}, want: outputText},
		"CI empty":                 {tty: true, env: map[string]string{"CI": ""}, want: outputProgress},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := chooseApplyOutput(tc.json, tc.noProgress, tc.tty, func(k string) string { return tc.env[k] })
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestHeartbeatInterval(t *testing.T) {
	tests := map[string]struct {
		env     string
		want    time.Duration
		wantErr bool
	}{
		"unset: the default": {env: "", want: 0},
		"set":                {env: "250ms", want: 250 * time.Millisecond},
		"0 turns it off":     {env: "0", want: -1},
		"negative":           {env: "-1s", wantErr: true},
		"not a duration":     {env: "often", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := heartbeatInterval(func(string) string { return tc.env })
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("got %v, %v; want %v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestWaitingFor(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "main.nrun.hcl")
	err := os.WriteFile(path, []byte(`
step "gate" {
  action "approval" {
    message = "go?"
  }
}
step "drain" {
  for_each   = toset(["c1", "c2"])
  depends_on = [step.gate]
  action "sleep" {
    duration = "1s"
  }
}
step "other" {
  action "sleep" {
    duration = "1s"
  }
}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	rb, diags := lang.Load(path)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	p, diags := planner.Resolve(rb, nil, nil, planner.ResolveOptions{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	want := []string{`step.drain["c1"]`, `step.drain["c2"]`}
	if got := waitingFor(p, "step.gate"); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
