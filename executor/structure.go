package executor

import (
	"encoding/json"

	"github.com/nrun-dev/nrun/planner"
)

// PlanStructure is a digest of what a plan would do: its instances, their
// actions and known arguments, targets, ordering (depends_on, inner,
// parent, waves) and failure handling (timeout, retry, on_failure), and
// each precondition and wait by name and arguments. It leaves out what was
// only observed at plan time (each.value, the precondition results, the
// job previews, the cluster summary, diagnostics), so a plan made again from the same
// runbook against the same cluster has the same digest.
//
// apply PLANFILE compares the saved plan's digest with that of a plan made
// afresh and executes the fresh one: a plan file is a record of what the
// operator reviewed, not something the executor trusts.
func PlanStructure(p *planner.Plan) string {
	type check struct {
		Name     string
		Args     []planner.Arg
		Timeout  planner.Duration
		Interval planner.Duration
	}
	type inst struct {
		Addr, Step, Key string
		Target          planner.Target
		Action          *planner.ActionPlan
		Inner           []string
		Parent          string
		Pre, Waits      []check
		Timeout         planner.Duration
		OnFailure       string
		Retry           *planner.Retry
		DependsOn       []string
		Wave            int
	}
	checksOf := func(cs []planner.CheckPlan) []check {
		out := make([]check, 0, len(cs))
		for _, c := range cs {
			out = append(out, check{Name: c.Name, Args: c.Args, Timeout: c.Timeout, Interval: c.Interval})
		}
		return out
	}
	var all struct {
		Instances []inst
		Waves     [][]string
	}
	all.Waves = p.Waves
	for _, in := range p.Instances {
		if in == nil {
			all.Instances = append(all.Instances, inst{Addr: "<nil>"})
			continue
		}
		all.Instances = append(all.Instances, inst{
			Addr: in.Addr.String(), Step: in.Step.String(), Key: in.Key,
			Target: in.Target, Action: structuralAction(in.Action), Inner: in.Inner, Parent: in.Parent,
			Pre: checksOf(in.Preconditions), Waits: checksOf(in.Waits),
			Timeout: in.Timeout, OnFailure: string(in.OnFailure), Retry: in.Retry,
			DependsOn: in.DependsOn, Wave: in.Wave,
		})
	}
	b, err := json.Marshal(all)
	if err != nil {
		// Every field is plain data; this cannot happen, and an empty
		// digest would match nothing but another failure.
		return "error: " + err.Error()
	}
	return sha256Hex(b)
}

// structuralAction is the action without what a plan-time preview adds
// (ActionPlan.Terraform, ActionPlan.Job): a preview describes the cluster,
// not the work, and a plan made again for apply may have another or none.
func structuralAction(a *planner.ActionPlan) *planner.ActionPlan {
	if a == nil {
		return nil
	}
	c := *a
	c.Terraform = nil
	c.Job = nil
	return &c
}
