package planner

import (
	"fmt"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// checkRestoreGuarded is NR-S012: a snapshot restore (an action whose
// catalog entry names the file it restores, lang.ActionSpec.Restores)
// rolls a cluster's whole state back and loses everything written since,
// so
//
//   - it runs only after an approval step (an action whose entry
//     Approves) that it depends on, directly or through other steps: a
//     person confirms it when the run gets there, not only when the plan
//     was accepted, possibly hours before; and
//   - the file it restores is either written by an earlier snapshot step
//     of the same cluster that it depends on (the same path, by value or,
//     when the value is known only at apply, by the same expression), or
//     known at plan, where it must exist and read as a Raft snapshot
//     (cluster.ReadRaftSnapshotHead: a non-empty gzip'd tar whose first
//     members are meta.json, which parses, and state.bin). Offline
//     (validate) the file is not read: the plan reads it, and apply reads
//     it through again before restoring.
//
// Both parts can be waived with allow_unsafe, as every rule can.
func (s *safety) checkRestoreGuarded() {
	var approvals, saves []*facts
	s.forEachStep(func(f *facts) {
		if spec := actionSpec(f.step); spec != nil && spec.Approves {
			approvals = append(approvals, f)
		}
		if spec := actionSpec(f.step); spec != nil && spec.Saves != "" {
			saves = append(saves, f)
		}
	})
	s.forEachStep(func(f *facts) {
		spec := actionSpec(f.step)
		if spec == nil || spec.Restores == "" {
			return
		}
		approved := false
		for _, a := range approvals {
			if s.g.Ancestor(a.addr(), f.addr()) {
				approved = true
				break
			}
		}
		if !approved {
			s.report(f.step, RuleRestoreGuarded, hcl.DiagError, f.step.Action.DeclRange,
				"Snapshot restore without approval",
				fmt.Sprintf("%s restores a %s snapshot, which rolls the servers' whole state back and loses everything written since, and no approval step runs before it. Add a step with action \"approval\" and make %s depend on it (depends_on = [step.NAME]), so a person confirms the restore when the run reaches it; or, when it was approved out of band, waive the rule with allow_unsafe { rules = [%q], reason = \"...\" }.",
					f.addr(), spec.Cluster.Noun(), f.addr(), RuleRestoreGuarded))
		}
		s.checkRestoreSource(f, spec, saves)
	})
}

// checkRestoreSource is NR-S012's second part, on the file f restores.
func (s *safety) checkRestoreSource(f *facts, spec *lang.ActionSpec, saves []*facts) {
	attr := f.step.Action.Args[spec.Restores]
	if attr == nil {
		return // the schema requires it and says so
	}
	path, known := s.literalString(attr.Expr)
	var unordered *facts
	for _, sv := range saves {
		svSpec := actionSpec(sv.step)
		if svSpec.Cluster != spec.Cluster {
			continue
		}
		other := sv.step.Action.Args[svSpec.Saves]
		if other == nil || !s.samePath(attr.Expr, other.Expr, path, known) {
			continue
		}
		if s.g.Ancestor(sv.addr(), f.addr()) {
			return
		}
		unordered = sv
	}
	if unordered != nil {
		s.report(f.step, RuleRestoreGuarded, hcl.DiagError, attr.Range,
			"Snapshot restored before it is saved",
			fmt.Sprintf("%s restores the snapshot that %s saves, but does not depend on it, so it can run before that snapshot is written (or read an older file). Make %s depend on %s (depends_on = [%s]).",
				f.addr(), unordered.addr(), f.addr(), unordered.addr(), unordered.addr()))
		return
	}
	if !s.opts.Plan {
		return // the plan reads the file
	}
	if !known {
		s.report(f.step, RuleRestoreGuarded, hcl.DiagError, attr.Range,
			"Snapshot to restore not known",
			fmt.Sprintf("The %s of %s is not known at plan and no earlier step of the run saves it, so the plan cannot check that the file is a snapshot. Give a path known at plan (a literal, a variable or a local), or restore the file a snapshot step of the run writes and make %s depend on that step.",
				spec.Restores, f.addr(), f.addr()))
		return
	}
	file := path
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(f.step.DeclRange.Filename), file)
	}
	if _, err := cview.ReadRaftSnapshotHead(file); err != nil {
		s.report(f.step, RuleRestoreGuarded, hcl.DiagError, attr.Range,
			"Snapshot to restore is not readable",
			fmt.Sprintf("%s restores %s, which no earlier step of the run saves, and the file cannot be read as a %s snapshot: %s. Point %s at the snapshot file (relative paths are relative to the runbook directory), or save it in an earlier step of the run that %s depends on.",
				f.addr(), file, spec.Cluster.Noun(), err, spec.Restores, f.addr()))
	}
}

// samePath reports whether the save's path expression b names the file
// restored by a, whose value is path when known: the same value, or the
// same source text when either value is known only at apply.
func (s *safety) samePath(a, b hcl.Expression, path string, known bool) bool {
	if other, ok := s.literalString(b); ok && known {
		return filepath.Clean(other) == filepath.Clean(path)
	}
	ta, tb := s.sourceText(a.Range()), s.sourceText(b.Range())
	return ta != "" && ta == tb
}

// sourceText is the runbook source of rng, "" when not available.
func (s *safety) sourceText(rng hcl.Range) string {
	f := s.rb.Files[rng.Filename]
	if f == nil || rng.End.Byte > len(f.Bytes) || rng.Start.Byte > rng.End.Byte {
		return ""
	}
	return string(f.Bytes[rng.Start.Byte:rng.End.Byte])
}
