package planner

import (
	"github.com/zclconf/go-cty/cty"

	cview "github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// rejoinVoters is how many Raft voters one instance of f adds to cluster c
// once it has finished: 1 for a start of a server that, in the plan's
// view, is outside the Raft configuration (a server that went down long
// enough for autopilot's dead-server cleanup to remove it, as after an
// upgrade whose start failed), when a wait of the step proves it joined
// as a voter again (lang.ProvesJoined: servers_healthy with a count,
// raft_peer_present). 0 otherwise, which is the old model: a start only
// brings a down voter back.
//
// It is decided at plan only, where the view says who is in Raft, and only
// when every instance's server is known and outside Raft: one instance
// whose server is still a voter (down, not yet removed) would add nothing,
// and counting it would overstate the voters.
func (s *safety) rejoinVoters(f *facts, c cluster) int {
	if !s.opts.Plan || s.opts.View == nil || f.effect != lang.EffectStart || clusterOf(f.tgt.kind) != c || !f.tgt.perInstance {
		return 0
	}
	waits := f.step.Waits
	if !s.proves(waits, lang.ProvesJoined, c, f.tgt.kind) {
		return 0
	}
	forEach := f.step.ForEach
	if f.outer != nil {
		forEach = f.outer.step.ForEach
	}
	if forEach == nil {
		return 0
	}
	v, diags := forEach.Value(s.ctx)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() || !v.CanIterateElements() || v.LengthInt() == 0 {
		return 0
	}
	var raft *cview.RaftView
	switch {
	case c == clusterNomad && s.opts.View.Nomad != nil:
		raft = &s.opts.View.Nomad.Raft
	case c == clusterConsul && s.opts.View.Consul != nil:
		raft = &s.opts.View.Consul.Raft
	default:
		return 0
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if !e.Type().IsObjectType() {
			return 0
		}
		found, inRaft := false, false
		for _, attr := range []string{"id", "name", "address"} {
			if !e.Type().HasAttribute(attr) {
				continue
			}
			a := e.GetAttr(attr)
			if a.IsNull() || a.Type() != cty.String || a.AsString() == "" {
				continue
			}
			if sv, ok := raft.Find(a.AsString()); ok {
				found, inRaft = true, sv.InRaft
				break
			}
		}
		if !found || inRaft {
			return 0
		}
	}
	return 1
}
