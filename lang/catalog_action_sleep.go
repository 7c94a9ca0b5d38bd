package lang

import "github.com/zclconf/go-cty/cty"

// ActionSleep is the catalog name of action "sleep".
const ActionSleep = "sleep"

func init() {
	addAction(ActionSleep, &ActionSpec{
		Doc:    "Waits for a fixed time.",
		Effect: EffectNone,
		Attrs: []AttrSpec{
			{Name: "duration", Type: cty.String, Required: true, Duration: true, Doc: "How long to sleep."},
		},
		Cluster:    ClusterNone,
		Reads:      nil,
		Writes:     nil,
		Probe:      ProbeRepeat,
		RepeatSafe: "sleeping again is harmless",
		Local:      true,
	})
}
