package executor

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/nrun-dev/nrun/cluster"
)

// probeOutcome is what resume learns about an in-doubt action.
type probeOutcome string

const (
	probeDone    probeOutcome = "done"    // the effect is in place: record it and go on to the waits
	probeRedo    probeOutcome = "redo"    // the effect is not in place (or redoing is harmless): run the action again
	probeUnknown probeOutcome = "unknown" // cannot tell: stop and ask the operator
)

// probe re-checks an action whose intent was journalled without its
// completion, using the action's own evidence. It never guesses: when the
// evidence cannot settle it, the answer is probeUnknown.
func (r *runner) probe(ctx context.Context, n *node) (probeOutcome, string) {
	act := n.step.Action
	if act.Type == "terraform_apply" {
		r.fillTerraformScope()
	}
	args, err := r.evalArgs(n, act.Args)
	if err != nil {
		return probeUnknown, "cannot evaluate the action's arguments: " + err.Error()
	}
	switch act.Type {
	case "sleep", "approval":
		return probeRedo, "harmless to repeat"
	case "terraform_apply":
		return r.probeTerraform(ctx, n, args)
	case "nomad_snapshot_save":
		return probeRedo, "a snapshot is written atomically; taking it again is harmless"
	case "nomad_node_drain":
		// The drain action itself notices a drain already under way or
		// completed by this instance and only waits for it.
		return probeRedo, "the drain action resumes an existing drain instead of starting a new one"
	case "nomad_raft_transfer_leadership":
		return probeRedo, "transferring leadership again is harmless"
	case "exec":
		if err := r.waitLeftover(ctx, n); err != nil {
			return probeUnknown, err.Error()
		}
		check, err := stringList("check", args["check"])
		if err != nil {
			return probeUnknown, err.Error()
		}
		if len(check) == 0 {
			return probeUnknown, "the exec command may or may not have run and the action has no check command to tell"
		}
		if _, _, err := r.runCommand(ctx, n, "check", check, nil, 0); err != nil {
			return probeRedo, "check command failed (effect not in place): " + firstLine(err.Error())
		}
		return probeDone, "check command exited 0 (effect already in place)"
	}
	if out, why, ok := r.probeCluster(ctx, n, args); ok {
		return out, why
	}
	if r.cfg.Cluster == nil {
		return probeUnknown, "no cluster to probe"
	}
	switch act.Type {
	case "nomad_node_eligibility":
		id, name, err := r.nodeID(ctx, n, args["node"])
		if err != nil {
			return probeUnknown, err.Error()
		}
		nd, _, err := r.cfg.Cluster.WaitNode(ctx, id, 0)
		if err != nil {
			return probeUnknown, err.Error()
		}
		want := "ineligible"
		if boolArg(args, "eligible", true) {
			want = "eligible"
		}
		if nd.Eligibility == want {
			return probeDone, fmt.Sprintf("node %s is already %s", name, want)
		}
		return probeRedo, fmt.Sprintf("node %s is %s", name, nd.Eligibility)
	case "nomad_raft_remove_peer", "nomad_server_force_leave":
		t, err := r.targetArg(n, args["server"])
		if err != nil {
			return probeUnknown, err.Error()
		}
		v, err := r.cfg.Cluster.Snapshot(ctx, cluster.SnapshotOptions{Nomad: true})
		if err != nil {
			return probeUnknown, err.Error()
		}
		var s cluster.Server
		found := false
		for _, ref := range []string{t.ID, t.Name, t.Address} {
			if s, found = v.Nomad.Raft.Find(ref); found {
				break
			}
		}
		if act.Type == "nomad_raft_remove_peer" {
			if !found || !s.InRaft {
				return probeDone, "the server is no longer a Raft peer"
			}
			return probeRedo, "the server is still a Raft peer"
		}
		if !found || s.Status == "left" {
			return probeDone, "the server has left the gossip pool"
		}
		return probeRedo, "the server is still a gossip member (" + s.Status + ")"
	}
	return probeUnknown, "no probe for action " + act.Type
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// waitLeftover waits until the process group of the exec command that the
// crashed run started for n has exited: the command may outlive nrun (its
// children do not get nrun's death signal), and probing its effect while it
// still runs would race it.
func (r *runner) waitLeftover(ctx context.Context, n *node) error {
	pid, host := n.state.ExecPID, n.state.ExecHost
	if pid <= 0 {
		return nil
	}
	if h, _ := os.Hostname(); h != host {
		return fmt.Errorf("the command ran on %s (process group %d); check that it has finished there", host, pid)
	}
	announced := false
	for syscall.Kill(-pid, 0) == nil {
		if !announced {
			announced = true
			r.log.Printf("%s: the previous attempt's command (process group %d) still runs; waiting for it", n.addr, pid)
			r.emit(Event{Kind: EventInfo, Addr: n.addr, Message: fmt.Sprintf("waiting for the previous attempt's command (process group %d) to finish before probing", pid)})
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the previous attempt's command (process group %d) still runs", pid)
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}
