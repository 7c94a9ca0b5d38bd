package lang

import "github.com/zclconf/go-cty/cty"

// ActionNomadSnapshotSave is the catalog name of action "nomad_snapshot_save".
const ActionNomadSnapshotSave = "nomad_snapshot_save"

func init() {
	addAction(ActionNomadSnapshotSave, &ActionSpec{
		Doc:    "Saves a Nomad Raft snapshot to a local file.",
		Effect: EffectSnapshot,
		Attrs: []AttrSpec{
			{Name: "path", Type: cty.String, Required: true, Doc: "Where to write the snapshot, relative to the runbook directory."},
		},
		Cluster:    ClusterNomadServers,
		Reads:      nomadCap("management"),
		Writes:     nil,
		Probe:      ProbeRepeat,
		Saves:      "path",
		RepeatSafe: "a snapshot is written atomically; taking it again is harmless",
	})
}
