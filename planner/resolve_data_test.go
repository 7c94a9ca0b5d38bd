package planner

import (
	"slices"
	"testing"

	"github.com/nrun-dev/nrun/lang"
)

// SnapshotOptionsFor reads only what planning needs: node filters stay
// when every node the runbook acts on comes from a nomad_nodes data
// source, and every node is read when one is named any other way.
func TestSnapshotOptionsFor(t *testing.T) {
	tests := map[string]struct {
		path    string
		vars    []string
		nodes   bool
		filters int // -1: every node (no filters)
		consul  bool
		jobs    []string
	}{
		"drain pool: every node":       {path: drainRunbook, nodes: true, filters: -1},
		"upgrade: servers only":        {path: upgradeRunbook, filters: -1},
		"blue-green: names read all":   {path: "../runbooks/blue-green-image-migration.nrun.hcl", nodes: true, filters: -1, consul: true},
		"canary: the job":              {path: "../runbooks/job-canary-rollout.nrun.hcl", vars: []string{"job=api"}, filters: -1, jobs: []string{"api"}},
		"features: drains, every node": {path: "testdata/plans/features.nrun.hcl", nodes: true, filters: -1, jobs: []string{"web"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rb, diags := lang.Load(tc.path)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			inputs, _ := lang.InputValues(rb, tc.vars, nil)
			opts, diags := SnapshotOptionsFor(rb, inputs)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if !opts.Nomad || opts.Nodes != tc.nodes || opts.Consul != tc.consul {
				t.Errorf("opts = %+v", opts)
			}
			if tc.filters >= 0 && len(opts.NodeFilters) != tc.filters || tc.filters < 0 && opts.NodeFilters != nil {
				t.Errorf("node filters = %+v, want %d", opts.NodeFilters, tc.filters)
			}
			var jobs []string
			for _, j := range opts.Jobs {
				jobs = append(jobs, j.ID)
			}
			if !slices.Equal(jobs, tc.jobs) {
				t.Errorf("jobs = %q, want %q", jobs, tc.jobs)
			}
		})
	}
}
