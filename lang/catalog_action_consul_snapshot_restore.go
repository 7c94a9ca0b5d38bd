package lang

import "github.com/zclconf/go-cty/cty"

// ActionConsulSnapshotRestore is the catalog name of action "consul_snapshot_restore".
const ActionConsulSnapshotRestore = "consul_snapshot_restore"

func init() {
	addAction(ActionConsulSnapshotRestore, &ActionSpec{
		Doc:    "Restores a Consul snapshot: the servers' whole state (catalog, KV, sessions, ACLs) goes back to the snapshot's, and everything written since is lost.",
		Effect: EffectRestore,
		Attrs: []AttrSpec{
			{Name: "path", Type: cty.String, Required: true, Doc: "The snapshot file, relative to the runbook directory: one an earlier consul_snapshot_save step of the run writes, or a file that exists and reads as a snapshot at plan (NR-S012)."},
		},
		Cluster:  ClusterConsulServers,
		Reads:    nil,
		Writes:   consulCap("management"),
		Probe:    ProbeAsk,
		Restores: "path",
	})
}
