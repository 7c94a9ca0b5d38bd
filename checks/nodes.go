package checks

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// nodeOf finds the node a node check is about: the node argument, else the
// step's target when it is a node.
func nodeOf(a Args, t Target, v *cluster.View) (cluster.Node, string, *Result) {
	nt := t
	if a.Node != nil {
		nt = *a.Node
	} else if t.Kind != lang.TargetNomadNode {
		return cluster.Node{}, "", &Result{Reason: "the step has no node target; set target to a node or give the check a node argument"}
	}
	if v.Nomad == nil {
		return cluster.Node{}, "", &Result{Reason: "the cluster view has no Nomad data"}
	}
	for _, ref := range []string{nt.ID, nt.Name} {
		if n, ok := v.Nomad.Node(ref); ok {
			return n, nt.label(), nil
		}
	}
	return cluster.Node{}, "", &Result{Observed: fmt.Sprintf("node %s is not in the view", nt.label()),
		Reason: "the node is unknown; check its name or ID and that the snapshot read nodes"}
}

// nodeReady holds when the node is ready; with a.Since set (a wait after
// a restart), only on a record the agent registered since then.
func nodeReady(a Args, t Target, v *cluster.View) Result {
	n, label, bad := nodeOf(a, t, v)
	if bad != nil {
		return *bad
	}
	obs := fmt.Sprintf("%s: status %s, %s", label, n.Status, n.Eligibility)
	if !a.Since.IsZero() && !n.StatusUpdatedAt.IsZero() {
		obs += ", status since " + n.StatusUpdatedAt.UTC().Format("15:04:05")
	}
	if n.Status == "ready" {
		if !reregistered(n, a) {
			return Result{Observed: obs, Reason: notReregistered}
		}
		return Result{OK: true, Observed: obs}
	}
	return Result{Observed: obs, Reason: fmt.Sprintf("the node is %s, not ready; check that its Nomad client runs and reaches the servers", n.Status)}
}

func nodeIneligible(a Args, t Target, v *cluster.View) Result {
	n, label, bad := nodeOf(a, t, v)
	if bad != nil {
		return *bad
	}
	obs := fmt.Sprintf("%s: %s", label, n.Eligibility)
	if n.Drain {
		obs += ", draining"
	}
	if n.Eligibility == "ineligible" {
		return Result{OK: true, Observed: obs}
	}
	return Result{Observed: obs, Reason: "the node can still receive allocations; mark it ineligible or drain it first"}
}

// nodeDrained holds when the last drain is complete and no allocation of a
// non-system job is still on the node. A drain can report complete while
// allocations are still stopping, so both are required; system allocations
// are allowed to stay (ignore_system_jobs leaves them there on purpose).
func nodeDrained(a Args, t Target, v *cluster.View) Result {
	n, label, bad := nodeOf(a, t, v)
	if bad != nil {
		return *bad
	}
	left := n.Allocs.NonTerminal - n.Allocs.System
	drain := "no drain recorded"
	if n.LastDrain != nil {
		drain = "last drain " + n.LastDrain.Status
	}
	obs := fmt.Sprintf("%s: %s, %s running (%d system)", label, drain,
		plural(n.Allocs.NonTerminal, "allocation", "allocations"), n.Allocs.System)
	switch {
	case n.LastDrain == nil:
		return Result{Observed: obs, Reason: "the node has never been drained; drain it first"}
	case n.Drain || n.LastDrain.Status == "draining":
		return Result{Observed: obs, Reason: "the drain is still in progress"}
	case n.LastDrain.Status != "complete":
		return Result{Observed: obs, Reason: fmt.Sprintf("the last drain ended %s, not complete; drain the node again", n.LastDrain.Status)}
	case left > 0:
		return Result{Observed: obs, Reason: fmt.Sprintf("the drain reports complete but %s of non-system jobs still run; wait for them to stop",
			plural(left, "allocation", "allocations"))}
	}
	return Result{OK: true, Observed: obs}
}

// consulMaintenance holds when the Consul node's maintenance mode equals
// enabled (default true).
func consulMaintenance(a Args, t Target, v *cluster.View) Result {
	nt := t
	if a.Node != nil {
		nt = *a.Node
	} else if t.Kind == lang.TargetNone || t.Kind == lang.TargetJob {
		return Result{Reason: "the step has no node target; set target to a node or give the check a node argument"}
	}
	if v.Consul == nil {
		return Result{Reason: "the cluster view has no Consul data; add a consul block or set CONSUL_HTTP_ADDR so nrun reads Consul"}
	}
	want := a.Enabled == nil || *a.Enabled
	// Consul node names are host names; a Nomad server's name carries its
	// region ("s1.global"), so its first label is tried too.
	var refs []string
	for _, r := range []string{nt.Name, nt.ID} {
		if r != "" {
			refs = append(refs, r)
			if short, _, ok := strings.Cut(r, "."); ok {
				refs = append(refs, short)
			}
		}
	}
	for _, ref := range refs {
		n, ok := v.Consul.Node(ref)
		if !ok {
			continue
		}
		state := "off"
		if n.Maintenance {
			state = "on"
			if n.MaintenanceReason != "" {
				state += fmt.Sprintf(" (%q)", n.MaintenanceReason)
			}
		}
		obs := fmt.Sprintf("%s: maintenance %s", n.Name, state)
		if n.Maintenance == want {
			return Result{OK: true, Observed: obs}
		}
		if want {
			return Result{Observed: obs, Reason: "the node is not in maintenance mode; enable it first (consul_maintenance action)"}
		}
		return Result{Observed: obs, Reason: "the node is still in maintenance mode; disable it (consul_maintenance with enable = false)"}
	}
	return Result{Observed: fmt.Sprintf("%s is not in the Consul catalog", nt.label()),
		Reason: "check the node name; Consul knows nodes by their agent's node_name"}
}

// deploymentSuccessful holds when the job's latest deployment is for its
// current version and succeeded.
func deploymentSuccessful(a Args, t Target, v *cluster.View) Result {
	id, j, d, bad := jobDeployment("deployment_successful", a, t, v)
	if bad != nil {
		return *bad
	}
	obs := fmt.Sprintf("job %s v%d: deployment %s %s%s", id, j.Version, shortID(d.ID), d.Status, groupSummary(d))
	switch {
	case d.JobVersion != j.Version:
		return Result{Observed: obs, Reason: fmt.Sprintf("the latest deployment is for version %d, the job is at version %d; wait for the new deployment", d.JobVersion, j.Version)}
	case d.Status == "successful":
		return Result{OK: true, Observed: obs}
	case d.Status == "running" || d.Status == "pending" || d.Status == "paused" || d.Status == "blocked" || d.Status == "unblocking":
		return Result{Observed: obs, Reason: "the deployment has not finished: " + d.StatusDescription}
	default:
		return Result{Observed: obs, Reason: fmt.Sprintf("the deployment %s: %s", d.Status, d.StatusDescription)}
	}
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func groupSummary(d *cluster.Deployment) string {
	if len(d.Groups) == 0 {
		return ""
	}
	names := make([]string, 0, len(d.Groups))
	for n := range d.Groups {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		g := d.Groups[n]
		s := fmt.Sprintf("%s %d/%d healthy", n, g.HealthyAllocs, g.DesiredTotal)
		if g.DesiredCanaries > 0 {
			s += fmt.Sprintf(", canaries %d/%d", g.PlacedCanaries, g.DesiredCanaries)
			if g.Promoted {
				s += " promoted"
			}
		}
		parts = append(parts, s)
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// jobDeployment finds the job a deployment check is about (its job
// argument, else the step's job target) and its latest deployment; bad
// says why the check cannot hold when either is missing.
func jobDeployment(check string, a Args, t Target, v *cluster.View) (string, cluster.Job, *cluster.Deployment, *Result) {
	id, ns := a.Job, a.Namespace
	if id == "" && t.Kind == lang.TargetJob {
		id = t.ID
		if id == "" {
			id = t.Name
		}
	}
	if id == "" {
		return "", cluster.Job{}, nil, &Result{Reason: check + " needs a job argument"}
	}
	if v.Nomad == nil {
		return id, cluster.Job{}, nil, &Result{Reason: "the cluster view has no Nomad data"}
	}
	j, ok := v.Nomad.Job(ns, id)
	if !ok {
		return id, j, nil, &Result{Observed: fmt.Sprintf("job %s is not in the view", id),
			Reason: "the job does not exist (yet), or the snapshot did not read it"}
	}
	if j.Deployment == nil {
		return id, j, nil, &Result{Observed: fmt.Sprintf("job %s v%d has no deployment", id, j.Version),
			Reason: "only service jobs with an update block have deployments"}
	}
	return id, j, j.Deployment, nil
}
