package executor

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	nomad "github.com/hashicorp/nomad/api"
	"github.com/zclconf/go-cty/cty"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/executor/journal"
	"github.com/nrun-dev/nrun/lang"
)

// errNotImplemented marks the actions this version of nrun cannot run.
var errNotImplemented = errors.New("not implemented yet")

// doAction runs one attempt of n's action: the implementation registered
// against its catalog entry (see dispatch.go).
func (r *runner) doAction(ctx, soft context.Context, n *node, attempt int) (detail, digest string, err error) {
	act := n.step.Action
	spec := lang.ActionSpecs[act.Type]
	impl := actionImpls[spec]
	if spec == nil || impl == nil {
		return "", "", fmt.Errorf("action %q: %w", act.Type, errNotImplemented)
	}
	args, err := r.argsFor(n, spec)
	if err != nil {
		return "", "", err
	}
	return impl(r, ctx, soft, n, args)
}

func init() {
	implementAction(lang.ActionTerraformApply, func(r *runner, ctx, _ context.Context, n *node, args map[string]cty.Value) (string, string, error) {
		return r.terraformApply(ctx, n, args)
	})
	implementAction(lang.ActionSleep, func(r *runner, ctx, soft context.Context, _ *node, args map[string]cty.Value) (string, string, error) {
		d, err := durationArg(args, "duration", 0)
		if err != nil {
			return "", "", err
		}
		select {
		case <-time.After(d):
			return "slept " + d.String(), "", nil
		case <-soft.Done():
			if ctx.Err() != nil {
				return "", "", ctx.Err()
			}
			return "", "", errInterrupted
		}
	})
	implementAction(lang.ActionApproval, func(r *runner, ctx, _ context.Context, n *node, args map[string]cty.Value) (string, string, error) {
		return r.approval(ctx, n, strArg(args, "message"))
	})
	implementAction(lang.ActionExec, func(r *runner, ctx, _ context.Context, n *node, args map[string]cty.Value) (string, string, error) {
		return r.execAction(ctx, n, args)
	})
	implementAction(lang.ActionNomadNodeDrain, (*runner).drain)
	implementAction(lang.ActionNomadNodeEligibility, func(r *runner, ctx, _ context.Context, n *node, args map[string]cty.Value) (string, string, error) {
		id, name, err := r.nodeID(ctx, n, args["node"])
		if err != nil {
			return "", "", err
		}
		el := boolArg(args, "eligible", true)
		if _, err := r.nomad.c.Nodes().ToggleEligibility(id, el, wq(ctx)); err != nil {
			return "", "", fmt.Errorf("set eligibility of node %s: %w", name, err)
		}
		return fmt.Sprintf("node %s eligible=%v", name, el), "", nil
	})
	implementAction(lang.ActionNomadServerForceLeave, func(r *runner, _, _ context.Context, n *node, args map[string]cty.Value) (string, string, error) {
		t, err := r.targetArg(n, args["server"])
		if err != nil {
			return "", "", err
		}
		name := t.Name
		if name == "" {
			name = t.ID
		}
		if err := r.needNomad(); err != nil {
			return "", "", err
		}
		prune := boolArg(args, "prune", false)
		if err := r.nomad.c.Agent().ForceLeaveWithOptions(name, nomad.ForceLeaveOpts{Prune: prune}); err != nil {
			return "", "", fmt.Errorf("force-leave %s: %w", name, err)
		}
		return fmt.Sprintf("force-left %s (prune=%v)", name, prune), "", nil
	})
	implementAction(lang.ActionNomadRaftRemovePeer, func(r *runner, ctx, _ context.Context, n *node, args map[string]cty.Value) (string, string, error) {
		return r.removePeer(ctx, n, args)
	})
	implementAction(lang.ActionNomadRaftTransferLeadership, func(r *runner, ctx, _ context.Context, n *node, args map[string]cty.Value) (string, string, error) {
		return r.transferAction(ctx, n, args)
	})
	implementAction(lang.ActionNomadSnapshotSave, func(r *runner, ctx, _ context.Context, _ *node, args map[string]cty.Value) (string, string, error) {
		return r.snapshotSave(ctx, strArg(args, "path"))
	})
}

func (r *runner) needNomad() error {
	if r.nomad == nil {
		return errors.New("no Nomad cluster is configured")
	}
	return nil
}

func strArg(args map[string]cty.Value, name string) string {
	v, ok := args[name]
	if !ok || v.IsNull() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

func boolArg(args map[string]cty.Value, name string, def bool) bool {
	v, ok := args[name]
	if !ok || v.IsNull() || v.Type() != cty.Bool {
		return def
	}
	return v.True()
}

func durationArg(args map[string]cty.Value, name string, def time.Duration) (time.Duration, error) {
	s := strArg(args, name)
	if s == "" {
		return def, nil
	}
	d, err := lang.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

// stringList reads a list of strings argument. A null element is an
// error, not skipped: ["echo", null, "x"] must not run as `echo x`.
func stringList(name string, v cty.Value) ([]string, error) {
	if v == cty.NilVal || v.IsNull() || !v.CanIterateElements() {
		return nil, nil
	}
	var out []string
	i := 0
	for it := v.ElementIterator(); it.Next(); i++ {
		_, e := it.Element()
		if e.IsNull() {
			return nil, fmt.Errorf("argument %s: element %d is null; every element of the command must be a string", name, i)
		}
		if e.Type() != cty.String {
			return nil, fmt.Errorf("argument %s: element %d is a %s, not a string", name, i, e.Type().FriendlyName())
		}
		out = append(out, e.AsString())
	}
	return out, nil
}

// argvSensitive reports whether the command (what = cmdMain) or check
// command of n's exec action, or its env, is computed from a sensitive
// value.
func (r *runner) argvSensitive(n *node, what string) bool {
	act := n.step.Action
	if act == nil || r.sens == nil {
		return false
	}
	name := "command"
	if what == cmdCheck {
		name = "check"
	}
	for _, a := range []string{name, "env"} {
		if at, ok := act.Args[a]; ok && r.sens.Uses(at.Expr) {
			return true
		}
	}
	return false
}

// progSensitive reports whether the program itself (the first element of
// the command or check) may be computed from a sensitive value: true
// unless the list is written out and its first element is not.
func (r *runner) progSensitive(n *node, what string) bool {
	if !r.argvSensitive(n, what) {
		return false
	}
	name := "command"
	if what == cmdCheck {
		name = "check"
	}
	at, ok := n.step.Action.Args[name]
	if !ok {
		return true
	}
	if t, ok := at.Expr.(*hclsyntax.TupleConsExpr); ok && len(t.Exprs) > 0 {
		return r.sens.Uses(t.Exprs[0])
	}
	return true
}

func (r *runner) approval(ctx context.Context, n *node, msg string) (string, string, error) {
	// The operator sees the message at the terminal and in events; a
	// secret in it, or anything computed from one, must not show.
	if at, ok := n.step.Action.Args["message"]; ok && r.sens != nil && r.sens.Uses(at.Expr) {
		msg = "(the message is computed from a sensitive value and is not shown)"
	}
	msg = r.red.String(msg)
	if n.state.Approved || r.approve[n.addr] {
		if !n.state.Approved {
			r.append(journal.Record{Kind: journal.KindApproved, Addr: n.addr, Detail: "nrun apply -approve"})
		}
		return "approved", "", nil
	}
	if r.cfg.Approver != nil {
		ok, err := r.cfg.Approver(ctx, n.addr, msg)
		if err != nil {
			return "", "", err
		}
		if !ok {
			return "", "", errors.New("the operator did not approve")
		}
		r.append(journal.Record{Kind: journal.KindApproved, Addr: n.addr, Detail: "approved at the terminal"})
		return "approved", "", nil
	}
	r.append(journal.Record{Kind: journal.KindPaused, Addr: n.addr, Action: "approval", Detail: msg})
	r.log.Printf("%s: waiting for approval: %s", n.addr, msg)
	r.emit(Event{Kind: EventPaused, Addr: n.addr, Action: "approval", Message: "approval needed: " + msg})
	r.setHalt(stPaused)
	return "", "", errPaused
}

// execAction runs the command, then its check command (see runCommand).
func (r *runner) execAction(ctx context.Context, n *node, args map[string]cty.Value) (string, string, error) {
	// Plan refused the NUL bytes it could see; a step output is known
	// only now. Refuse before the command runs, not between it and check.
	for _, name := range []string{"command", "env", "check"} {
		if where, ok := lang.FindNUL(args[name], false); ok {
			if where == "" {
				where = "the value"
			}
			return "", "", fmt.Errorf("argument %s: %s contains a NUL byte, which a process argument or environment variable cannot hold (a step output?); strip it with replace(VALUE, \"\\u0000\", \"\")", name, where)
		}
	}
	argv, err := stringList("command", args["command"])
	if err != nil {
		return "", "", err
	}
	if len(argv) == 0 {
		return "", "", errors.New("exec: command is empty")
	}
	timeout, err := durationArg(args, "timeout", 0)
	if err != nil {
		return "", "", err
	}
	env := map[string]string{}
	if v, ok := args["env"]; ok && !v.IsNull() {
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if e.IsNull() {
				return "", "", fmt.Errorf("argument env: the value of %s is null; give it a string, or leave the variable out", k.AsString())
			}
			if e.Type() != cty.String {
				return "", "", fmt.Errorf("argument env: the value of %s is a %s, not a string", k.AsString(), e.Type().FriendlyName())
			}
			env[k.AsString()] = e.AsString()
		}
	}
	out, truncated, err := r.runCommand(ctx, n, cmdMain, argv, env, timeout)
	if err != nil {
		return "", "", err
	}
	n.output, n.outputTruncated = out, truncated
	check, err := stringList("check", args["check"])
	if err != nil {
		return "", "", err
	}
	if len(check) > 0 {
		if _, _, err := r.runCommand(ctx, n, cmdCheck, check, env, timeout); err != nil {
			return "", "", fmt.Errorf("the check command after exec failed: %w", err)
		}
	}
	return "exit 0", "", nil
}

// targetArg is the object an action argument names, else the instance's
// target.
func (r *runner) targetArg(n *node, v cty.Value) (checks.Target, error) {
	if v != cty.NilVal && !v.IsNull() {
		return checks.TargetFromValue(v)
	}
	t := n.target()
	if t.ID == "" && t.Name == "" && t.Address == "" {
		return t, errors.New("the action has no target; set the step's target or the action's argument")
	}
	return t, nil
}

// nodeID finds a client node's ID from the argument or target.
func (r *runner) nodeID(ctx context.Context, n *node, v cty.Value) (id, name string, err error) {
	if err := r.needNomad(); err != nil {
		return "", "", err
	}
	t, err := r.targetArg(n, v)
	if err != nil {
		return "", "", err
	}
	id, name, found, err := r.findNode(ctx, t)
	if err != nil {
		return "", "", err
	}
	if !found {
		return "", "", fmt.Errorf("there is no client node %q", firstNonEmpty(t.Name, t.ID))
	}
	return id, name, nil
}

// findNode finds target t's client node: by its ID with one read of that
// node when the plan gave a full ID (a node of a nomad_nodes data
// source), else in the list of every node by ID or name. On a fleet the
// list is as long as the fleet and every instance of a drain asks, so
// the read keeps what each instance costs the servers constant.
func (r *runner) findNode(ctx context.Context, t checks.Target) (id, name string, found bool, err error) {
	if len(t.ID) == 36 {
		nd, _, err := r.nomad.c.Nodes().Info(t.ID, qo(ctx))
		switch {
		case err == nil && nd != nil:
			return nd.ID, nd.Name, true, nil
		case err != nil && !isNotFound(err):
			return "", "", false, fmt.Errorf("read node %s: %w", t.ID, err)
		}
	}
	stubs, _, err := r.nomad.c.Nodes().List(qo(ctx))
	if err != nil {
		return "", "", false, fmt.Errorf("list nodes: %w", err)
	}
	for _, s := range stubs {
		if (t.ID != "" && s.ID == t.ID) || (t.Name != "" && s.Name == t.Name) {
			return s.ID, s.Name, true, nil
		}
	}
	return "", "", false, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func (r *runner) removePeer(ctx context.Context, n *node, args map[string]cty.Value) (string, string, error) {
	if err := r.needNomad(); err != nil {
		return "", "", err
	}
	t, err := r.targetArg(n, args["server"])
	if err != nil {
		return "", "", err
	}
	rc, err := r.nomad.c.Operator().RaftGetConfiguration(qo(ctx))
	if err != nil {
		return "", "", fmt.Errorf("read the Raft configuration: %w", err)
	}
	for _, p := range rc.Servers {
		if p == nil {
			continue
		}
		short, _, _ := strings.Cut(p.Node, ".")
		if (t.ID != "" && p.ID == t.ID) || (t.Address != "" && p.Address == t.Address) || (t.Name != "" && (p.Node == t.Name || short == t.Name)) {
			if err := r.nomad.c.Operator().RaftRemovePeerByID(p.ID, wq(ctx)); err != nil {
				return "", "", fmt.Errorf("remove Raft peer %s: %w", p.Node, err)
			}
			return "removed Raft peer " + p.Node + " (" + p.ID + ")", "", nil
		}
	}
	// Already gone: the effect is in place (autopilot may have pruned it).
	return "already not a Raft peer: " + firstNonEmpty(t.Name, t.ID, t.Address), "", nil
}

func (r *runner) transferAction(ctx context.Context, n *node, args map[string]cty.Value) (string, string, error) {
	if err := r.needNomad(); err != nil {
		return "", "", err
	}
	rc, err := r.nomad.c.Operator().RaftGetConfiguration(qo(ctx))
	if err != nil {
		return "", "", fmt.Errorf("read the Raft configuration: %w", err)
	}
	var t checks.Target
	if v, ok := args["to"]; ok && !v.IsNull() {
		if t, err = checks.TargetFromValue(v); err != nil {
			return "", "", err
		}
	} else {
		t = n.target()
	}
	var leaderID string
	var to *nomad.RaftServer
	for _, p := range rc.Servers {
		if p == nil {
			continue
		}
		if p.Leader {
			leaderID = p.ID
		}
		short, _, _ := strings.Cut(p.Node, ".")
		if (t.ID != "" && p.ID == t.ID) || (t.Address != "" && p.Address == t.Address) || (t.Name != "" && (p.Node == t.Name || short == t.Name)) {
			to = p
		}
	}
	if to == nil {
		// No explicit target: any other voter.
		for _, p := range rc.Servers {
			if p != nil && !p.Leader && p.Voter {
				to = p
				break
			}
		}
	}
	if to == nil {
		return "", "", errors.New("no server to transfer leadership to")
	}
	if to.ID == leaderID {
		return to.Node + " already leads", "", nil
	}
	if err := r.nomad.transferLeadership(ctx, to.ID, to.Address); err != nil {
		return "", "", fmt.Errorf("transfer leadership to %s: %w", to.Node, err)
	}
	return "leadership transferred to " + to.Node, "", nil
}

func (r *runner) resolvePath(p string) string {
	if filepath.IsAbs(p) || r.cfg.BaseDir == "" {
		return p
	}
	return filepath.Join(r.cfg.BaseDir, p)
}
