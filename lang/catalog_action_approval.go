package lang

import "github.com/zclconf/go-cty/cty"

// ActionApproval is the catalog name of action "approval".
const ActionApproval = "approval"

func init() {
	addAction(ActionApproval, &ActionSpec{
		Doc:    "Stops until an operator approves; the message says what is being approved.",
		Effect: EffectNone,
		Attrs: []AttrSpec{
			{Name: "message", Type: cty.String, Required: true, Doc: "What the operator is asked to confirm."},
		},
		Cluster:    ClusterNone,
		Reads:      nil,
		Writes:     nil,
		Probe:      ProbeRepeat,
		RepeatSafe: "the approval asks again unless it was given",
		Local:      true,
		Approves:   true,
	})
}
