package lang

import "github.com/zclconf/go-cty/cty"

// ActionConsulSnapshotSave is the catalog name of action "consul_snapshot_save".
const ActionConsulSnapshotSave = "consul_snapshot_save"

func init() {
	addAction(ActionConsulSnapshotSave, &ActionSpec{
		Doc:    "Saves a Consul snapshot to a local file.",
		Effect: EffectSnapshot,
		Attrs: []AttrSpec{
			{Name: "path", Type: cty.String, Required: true, Doc: "Where to write the snapshot, relative to the runbook directory."},
		},
		Cluster:    ClusterConsulServers,
		Reads:      consulCap("management"),
		Writes:     nil,
		Probe:      ProbeRepeat,
		Saves:      "path",
		RepeatSafe: "a Consul snapshot is written atomically; taking it again is harmless",
	})
}
