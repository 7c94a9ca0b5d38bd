package planner

import (
	"strings"
	"testing"
)

// TestPreviewRestore: the plan reads the head of the snapshot a restore
// restores, or says why it could not.
func TestPreviewRestore(t *testing.T) {
	cases := map[string]struct {
		path        string
		varFiles    []string
		vars        []string
		index       uint64
		unavailable string
	}{
		"a file that reads as a snapshot": {path: "../runbooks/nomad-server-rollback.nrun.hcl", varFiles: []string{sandboxVars}, vars: []string{"snapshot_path=../planner/testdata/safety/snapshots/nomad.snap"}, index: 10},
		"saved by an earlier step":        {path: "testdata/safety/safe/restore_after_approval.nrun.hcl", unavailable: "does not exist yet"},
		"known only while applying":       {path: "testdata/safety/unsafe/s012_restore_path_unknown.nrun.hcl", unavailable: "known only during apply"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p, _ := plan(t, tc.path, tc.varFiles, tc.vars, "healthy")
			in := p.Instance("step.restore")
			if in == nil || in.Action == nil || in.Action.Snapshot == nil {
				t.Fatalf("no snapshot preview on step.restore: %+v", in)
			}
			pv := in.Action.Snapshot
			if pv.Index != tc.index || tc.unavailable == "" && (pv.Term != 2 || pv.Size == 0 || pv.Unavailable != "") || !strings.Contains(pv.Unavailable, tc.unavailable) {
				t.Errorf("preview %+v, want index %d, unavailable containing %q", pv, tc.index, tc.unavailable)
			}
		})
	}
}
