package main

import (
	"strings"
	"testing"

	"github.com/nrun-dev/nrun/planner"
)

// A plan made from an inventory has no servers to ask: it says that the
// job diff is not available, and why, instead of showing none silently.
func TestPlanJobPreviewOffline(t *testing.T) {
	for name, form := range map[string]string{"human": "-no-color", "markdown": "-markdown", "json": "-json"} {
		t.Run(name, func(t *testing.T) {
			s, stdout, stderr := testStreams("")
			code := run([]string{"plan", form, "-var", "version=2", "-inventory", "../../testdata/inventory/healthy.json", "../../runbooks/job-canary-rollout.nrun.hcl"}, s)
			if code != exitOK {
				t.Fatalf("exit %d, want %d\n%s%s", code, exitOK, stdout, stderr)
			}
			want := planner.OfflinePreview
			if form == "-json" {
				want = `"unavailable":"` + planner.OfflinePreview + `"`
			}
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("the plan does not say %q:\n%s", want, stdout)
			}
		})
	}
}
