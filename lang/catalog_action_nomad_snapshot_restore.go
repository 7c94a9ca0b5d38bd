package lang

import "github.com/zclconf/go-cty/cty"

// ActionNomadSnapshotRestore is the catalog name of action "nomad_snapshot_restore".
const ActionNomadSnapshotRestore = "nomad_snapshot_restore"

func init() {
	addAction(ActionNomadSnapshotRestore, &ActionSpec{
		Doc:    "Restores a Nomad Raft snapshot: the servers' whole state (jobs, allocations, nodes, variables, ACLs) goes back to the snapshot's, and everything written since is lost.",
		Effect: EffectRestore,
		Attrs: []AttrSpec{
			{Name: "path", Type: cty.String, Required: true, Doc: "The snapshot file, relative to the runbook directory: one an earlier nomad_snapshot_save step of the run writes, or a file that exists and reads as a snapshot at plan (NR-S012)."},
		},
		Cluster:  ClusterNomadServers,
		Reads:    nil,
		Writes:   nomadCap("management"),
		Probe:    ProbeAsk,
		Restores: "path",
	})
}
