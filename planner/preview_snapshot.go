package planner

import (
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// SnapshotPreview is what nrun plan shows of a snapshot restore: the head
// of the file it restores, read at plan (cluster.ReadRaftSnapshotHead).
// Apply refuses the restore when the file's head no longer matches (a
// newer or other snapshot written to the path since the plan).
type SnapshotPreview struct {
	// Path is the file, resolved against the runbook directory.
	Path string `json:"path"`
	// Size, Index and Term are the file's size and the Raft index and
	// term the snapshot was taken at; zero when Unavailable is set.
	Size  int64  `json:"size,omitempty"`
	Index uint64 `json:"index,omitempty"`
	Term  uint64 `json:"term,omitempty"`
	// Unavailable says why the file was not read at plan: its path is
	// known only during apply, or it does not exist yet (an earlier step
	// of the run saves it) or cannot be read (NR-S012 reports that unless
	// an earlier step saves it).
	Unavailable string `json:"unavailable,omitempty"`
}

// previewRestore records, on a restore instance, the head of the snapshot
// file it restores as it is now.
func (r *resolver) previewRestore(in *Instance, st *lang.Step, spec *lang.ActionSpec, ctx *hcl.EvalContext) {
	attr := st.Action.Args[spec.Restores]
	if attr == nil || in.Action == nil {
		return
	}
	pv := &SnapshotPreview{}
	in.Action.Snapshot = pv
	v, d := attr.Expr.Value(ctx)
	if d.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || v.Type() != cty.String {
		pv.Unavailable = "the snapshot path is known only during apply"
		return
	}
	pv.Path = v.AsString()
	if !filepath.IsAbs(pv.Path) {
		pv.Path = filepath.Join(filepath.Dir(st.DeclRange.Filename), pv.Path)
	}
	meta, err := cview.ReadRaftSnapshotHead(pv.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		pv.Unavailable = "the file does not exist yet; an earlier snapshot step of the run writes it (NR-S012)"
		return
	case err != nil:
		pv.Unavailable = "not readable now: " + err.Error()
		return
	}
	pv.Size, pv.Index, pv.Term = meta.Size, meta.Index, meta.Term
}
