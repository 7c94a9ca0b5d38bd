package executor

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// The snapshot restores, and the probe that settles one in doubt.
//
// A restore reads the whole file through first (gzip CRC, tar, the
// archive's SHA256SUMS, meta.json then state.bin), so a file damaged or
// swapped since plan is refused before anything reaches the servers. The
// step's digest is the file's sha256, so the journal records exactly
// which bytes were restored.
//
// Resume never repeats a restore on its own (lang.ProbeAsk): the restored
// state carries no mark of the restore (the servers' Raft index moves on
// past the snapshot's, as it does for any write), so nothing the cluster
// shows proves whether it happened; and a second restore is not harmless,
// it rolls back everything written since the first (node status changes,
// allocation updates, the operator's fixes). The operator, who can see
// what the cluster holds, decides with -assume-done or -redo.

func init() {
	implementAction(lang.ActionNomadSnapshotRestore, func(r *runner, ctx, _ context.Context, n *node, args map[string]cty.Value) (string, string, error) {
		if err := r.samePlannedSnapshot(n, strArg(args, "path")); err != nil {
			return "", "", err
		}
		return r.nomadSnapshotRestore(ctx, strArg(args, "path"))
	})
	implementCluster(lang.ActionConsulSnapshotRestore, func(r *runner, ctx context.Context, c *cluster.Client, n *node, args map[string]cty.Value) (string, string, error) {
		path := strArg(args, "path")
		if path == "" {
			return "", "", errors.New("consul_snapshot_restore: path is empty")
		}
		if err := r.samePlannedSnapshot(n, path); err != nil {
			return "", "", err
		}
		meta, digest, err := c.ConsulSnapshotRestore(ctx, r.resolvePath(path))
		if err != nil {
			return "", "", err
		}
		return restoreDetail("consul", r.resolvePath(path), meta, digest), digest, nil
	})
	implementProbe(lang.ProbeAsk, func(_ *runner, _ context.Context, _ *node, spec *lang.ActionSpec, _ map[string]cty.Value) (probeOutcome, string) {
		return probeUnknown, fmt.Sprintf("%s may or may not have reached the servers, nothing in the cluster tells, and doing it again would roll back whatever was written since; check the cluster's state (a job, variable or key written after the snapshot is gone once it was restored)", spec.Name)
	})
}

// nomadSnapshotRestore restores the Nomad snapshot at path (relative to
// the runbook directory) once it has read it through.
func (r *runner) nomadSnapshotRestore(ctx context.Context, path string) (string, string, error) {
	if err := r.needNomad(); err != nil {
		return "", "", err
	}
	if path == "" {
		return "", "", errors.New("nomad_snapshot_restore: path is empty")
	}
	src := r.resolvePath(path)
	meta, digest, err := cluster.VerifyRaftSnapshot(src)
	if err != nil {
		return "", "", fmt.Errorf("refusing to restore: %w", err)
	}
	f, err := os.Open(src)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	if _, err := r.nomad.c.Operator().SnapshotRestore(f, wq(ctx)); err != nil {
		return "", "", fmt.Errorf("restore the snapshot %s: %w", src, err)
	}
	return restoreDetail("nomad", src, meta, digest), digest, nil
}

// samePlannedSnapshot refuses a restore whose file is not the snapshot
// the plan showed: the plan read its head (Raft index, term, size), and a
// file written to the path since (a newer snapshot, another cluster's)
// would roll the cluster back to a state nobody reviewed. A plan that
// could not read the file (an earlier step of the run saves it) has
// nothing to compare.
func (r *runner) samePlannedSnapshot(n *node, path string) error {
	if n.inst == nil || n.inst.Action == nil || n.inst.Action.Snapshot == nil || n.inst.Action.Snapshot.Index == 0 {
		return nil
	}
	pv := n.inst.Action.Snapshot
	meta, err := cluster.ReadRaftSnapshotHead(r.resolvePath(path))
	if err != nil {
		return fmt.Errorf("refusing to restore: %w", err)
	}
	if meta.Index != pv.Index || meta.Term != pv.Term || meta.Size != pv.Size {
		return fmt.Errorf("refusing to restore: %s changed since the plan (the plan read a snapshot at Raft index %d, term %d, %d bytes; the file now holds index %d, term %d, %d bytes); plan again and review what it restores", r.resolvePath(path), pv.Index, pv.Term, pv.Size, meta.Index, meta.Term, meta.Size)
	}
	return nil
}

func restoreDetail(api, path string, meta cluster.RaftSnapshotMeta, digest string) string {
	return fmt.Sprintf("restored %s snapshot %s: %d bytes, Raft index %d (term %d), %s", api, path, meta.Size, meta.Index, meta.Term, digest)
}
