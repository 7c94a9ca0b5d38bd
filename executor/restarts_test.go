package executor

import (
	"testing"

	"github.com/nrun-dev/nrun/lang"
)

// TestRestarts: node waits demand a re-registered record only after an
// action that stops or starts the agent, on the step or (for a
// composite) inside it.
func TestRestarts(t *testing.T) {
	leaf := func(e lang.Effect) *node {
		return &node{step: &lang.Step{Action: &lang.Action{Type: "exec", Effect: e}}}
	}
	cases := map[string]struct {
		n    *node
		want bool
	}{
		"restart":     {leaf(lang.EffectRestart), true},
		"start":       {leaf(lang.EffectStart), true},
		"stop":        {leaf(lang.EffectStop), true},
		"create":      {leaf(lang.EffectCreate), true},
		"none":        {leaf(lang.EffectNone), false},
		"eligibility": {leaf(lang.EffectEligibility), false},
		"drain":       {leaf(lang.EffectDrain), false},
	}
	root := &node{step: &lang.Step{}}
	root.group = &group{root: root, inner: []*node{leaf(lang.EffectDrain), leaf(lang.EffectStart)}}
	cases["composite with a start inside"] = struct {
		n    *node
		want bool
	}{root, true}
	calm := &node{step: &lang.Step{}}
	calm.group = &group{root: calm, inner: []*node{leaf(lang.EffectDrain), leaf(lang.EffectEligibility)}}
	cases["composite without"] = struct {
		n    *node
		want bool
	}{calm, false}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := restarts(tc.n); got != tc.want {
				t.Errorf("restarts = %v, want %v", got, tc.want)
			}
		})
	}
}
