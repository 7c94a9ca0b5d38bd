package lang

// Effect says what an action does to its target. exec actions declare one of
// none, restart, stop, start or destroy; every built-in action implies one.
type Effect string

// Effects. The first five may be declared on exec; the rest are implied by
// built-in actions and used by the safety analysis.
const (
	EffectNone        Effect = "none"
	EffectRestart     Effect = "restart"
	EffectStop        Effect = "stop"
	EffectStart       Effect = "start"
	EffectDestroy     Effect = "destroy"
	EffectDrain       Effect = "drain"       // nomad_node_drain
	EffectEligibility Effect = "eligibility" // nomad_node_eligibility
	EffectLeave       Effect = "leave"       // nomad_server_force_leave, consul_force_leave
	EffectRemovePeer  Effect = "remove-peer" // *_raft_remove_peer
	EffectLeadership  Effect = "leadership"  // nomad_raft_transfer_leadership
	EffectMaintenance Effect = "maintenance" // consul_maintenance
	EffectSnapshot    Effect = "snapshot"    // *_snapshot_save
	EffectRestore     Effect = "restore"     // *_snapshot_restore
	EffectJob         Effect = "job"         // job run, promote, revert
	EffectCreate      Effect = "create"      // terraform_apply (creates/destroys declared)
)

// effectGlyphs is each effect's sign in the plan, as terraform's + ~ -:
// '=' reads or checks only, '~' changes the target in place, '-' removes
// or destroys, '+' creates, '!' drains a client node, '<' rolls a
// cluster's whole state back to a snapshot (NR-S012).
var effectGlyphs = map[Effect]rune{
	EffectNone:        '=',
	EffectSnapshot:    '=',
	EffectRestart:     '~',
	EffectStop:        '~',
	EffectStart:       '~',
	EffectEligibility: '~',
	EffectMaintenance: '~',
	EffectLeadership:  '~',
	EffectJob:         '~',
	EffectDestroy:     '-',
	EffectLeave:       '-',
	EffectRemovePeer:  '-',
	EffectCreate:      '+',
	EffectDrain:       '!',
	EffectRestore:     '<',
}

// Glyph is the effect's sign in the plan; an effect not declared here
// reads as '='.
func (e Effect) Glyph() rune {
	if g, ok := effectGlyphs[e]; ok {
		return g
	}
	return '='
}

// Effects returns every effect, sorted.
func Effects() []Effect {
	return sortedKeys(effectGlyphs)
}

// Restarts says whether the effect stops or starts the target's agent
// process (restart, stop, start, destroy, and a terraform_apply that
// creates or destroys hosts): a node's record from before such an action
// says nothing about the agent after it, so node_ready and node_version
// waits then hold only on a record the agent registered after the action
// began (WaitStrategy.Reregistered).
func (e Effect) Restarts() bool {
	switch e {
	case EffectRestart, EffectStop, EffectStart, EffectDestroy, EffectCreate:
		return true
	}
	return false
}

// DeclarableEffects are the effects an exec action may declare.
var DeclarableEffects = []Effect{EffectNone, EffectRestart, EffectStop, EffectStart, EffectDestroy}

// TargetKind is the kind of object a step instance acts on.
type TargetKind string

// Target kinds.
const (
	TargetNone         TargetKind = ""
	TargetNomadServer  TargetKind = "nomad_server"
	TargetNomadNode    TargetKind = "nomad_node"
	TargetConsulServer TargetKind = "consul_server"
	TargetJob          TargetKind = "job"
)
