package executor

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// probeOutcome is what resume learns about an in-doubt action.
type probeOutcome string

const (
	probeDone    probeOutcome = "done"    // the effect is in place: record it and go on to the waits
	probeRedo    probeOutcome = "redo"    // the effect is not in place (or redoing is harmless): run the action again
	probeUnknown probeOutcome = "unknown" // cannot tell: stop and ask the operator
)

// probe re-checks an action whose intent was journalled without its
// completion, using the action's own evidence: the strategy its catalog
// entry names (lang.Probe), registered below. It never guesses: when the
// evidence cannot settle it, the answer is probeUnknown.
func (r *runner) probe(ctx context.Context, n *node) (probeOutcome, string) {
	act := n.step.Action
	spec := lang.ActionSpecs[act.Type]
	if spec == nil || probeImpls[spec.Probe] == nil {
		return probeUnknown, "no probe for action " + act.Type
	}
	args, err := r.argsFor(n, spec)
	if err != nil {
		return probeUnknown, "cannot evaluate the action's arguments: " + err.Error()
	}
	return probeImpls[spec.Probe](r, ctx, n, spec, args)
}

func init() {
	implementProbe(lang.ProbeRepeat, func(_ *runner, _ context.Context, _ *node, spec *lang.ActionSpec, _ map[string]cty.Value) (probeOutcome, string) {
		return probeRedo, firstNonEmpty(spec.RepeatSafe, "harmless to repeat")
	})
	implementProbe(lang.ProbeTerraformPlan, func(r *runner, ctx context.Context, n *node, _ *lang.ActionSpec, args map[string]cty.Value) (probeOutcome, string) {
		return r.probeTerraform(ctx, n, args)
	})
	implementProbe(lang.ProbeCheckCommand, func(r *runner, ctx context.Context, n *node, _ *lang.ActionSpec, args map[string]cty.Value) (probeOutcome, string) {
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
		if _, _, err := r.runCommand(ctx, n, cmdCheck, check, nil, 0); err != nil {
			return probeRedo, "check command failed (effect not in place): " + firstLine(err.Error())
		}
		return probeDone, "check command exited 0 (effect already in place)"
	})
	implementProbe(lang.ProbeNodeEligibility, withCluster(func(r *runner, ctx context.Context, n *node, _ *lang.ActionSpec, args map[string]cty.Value) (probeOutcome, string) {
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
	}))
	implementProbe(lang.ProbeRaftPeer, withCluster(func(r *runner, ctx context.Context, n *node, spec *lang.ActionSpec, args map[string]cty.Value) (probeOutcome, string) {
		if spec.Cluster == lang.ClusterConsulServers {
			ref, present, err := r.consulPeer(ctx, n, args[spec.TargetAttr])
			if err != nil {
				return probeUnknown, err.Error()
			}
			if present {
				return probeRedo, "consul server " + ref + " is still a Raft peer"
			}
			return probeDone, "consul server " + ref + " is no longer a Raft peer"
		}
		s, found, err := r.nomadServer(ctx, n, args[spec.TargetAttr])
		if err != nil {
			return probeUnknown, err.Error()
		}
		if !found || !s.InRaft {
			return probeDone, "the server is no longer a Raft peer"
		}
		return probeRedo, "the server is still a Raft peer"
	}))
	implementProbe(lang.ProbeGossipMember, withCluster(func(r *runner, ctx context.Context, n *node, spec *lang.ActionSpec, args map[string]cty.Value) (probeOutcome, string) {
		s, found, err := r.nomadServer(ctx, n, args[spec.TargetAttr])
		if err != nil {
			return probeUnknown, err.Error()
		}
		if !found || s.Status == "left" {
			return probeDone, "the server has left the gossip pool"
		}
		return probeRedo, "the server is still a gossip member (" + s.Status + ")"
	}))
	implementProbe(lang.ProbeJobInPlace, withCluster(func(r *runner, ctx context.Context, _ *node, _ *lang.ActionSpec, args map[string]cty.Value) (probeOutcome, string) {
		job, err := r.parseJobArg(ctx, args)
		if err != nil {
			return probeUnknown, err.Error()
		}
		in, version, err := r.cfg.Cluster.JobInPlace(ctx, job)
		if err != nil {
			return probeUnknown, err.Error()
		}
		if in {
			return probeDone, fmt.Sprintf("job %s already runs as planned (version %d)", *job.ID, version)
		}
		return probeRedo, "job " + *job.ID + " differs from the jobspec: the registration did not happen"
	}))
}

// withCluster is a probe that reads the cluster: without a cluster client
// it cannot tell.
func withCluster(f probeFunc) probeFunc {
	return func(r *runner, ctx context.Context, n *node, spec *lang.ActionSpec, args map[string]cty.Value) (probeOutcome, string) {
		if r.cfg.Cluster == nil {
			return probeUnknown, "no cluster to probe"
		}
		return f(r, ctx, n, spec, args)
	}
}

// nomadServer finds the Nomad server an argument (else the target) names
// in a fresh read of the servers.
func (r *runner) nomadServer(ctx context.Context, n *node, v cty.Value) (cluster.Server, bool, error) {
	t, err := r.targetArg(n, v)
	if err != nil {
		return cluster.Server{}, false, err
	}
	view, err := r.cfg.Cluster.Snapshot(ctx, cluster.SnapshotOptions{Nomad: true})
	if err != nil {
		return cluster.Server{}, false, err
	}
	for _, ref := range []string{t.ID, t.Name, t.Address} {
		if s, found := view.Nomad.Raft.Find(ref); found {
			return s, true, nil
		}
	}
	return cluster.Server{}, false, nil
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
	for groupRunning(pid) {
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
