package planner

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"

	cview "github.com/nrun-dev/nrun/cluster"
)

// Fingerprint records the cluster facts a plan relies on, so that apply
// can refuse a plan made against a cluster that has moved since.
//
// Real Nomad 1.10 and Consul 1.21 report a Raft configuration index of 0,
// so the index alone proves nothing: the fingerprint also records the
// leader and the sorted voter set (ID and address).
type Fingerprint struct {
	Nomad  *RaftFingerprint `json:"nomad,omitempty"`
	Consul *RaftFingerprint `json:"consul,omitempty"`
	// Nodes maps the ID of every Nomad client node the plan targets to its
	// name and ModifyIndex.
	Nodes map[string]NodeMark `json:"nodes,omitempty"`
	// Jobs maps "namespace/id" of every job the plan touches (and the view
	// holds) to its JobModifyIndex.
	Jobs map[string]uint64 `json:"jobs,omitempty"`
}

// RaftFingerprint is one Raft cluster's fingerprint.
type RaftFingerprint struct {
	RaftIndex uint64 `json:"raft_index"`
	// Leader is the leader's name, "" when there is none.
	Leader string `json:"leader"`
	// Voters are the voters as "ID@address", sorted.
	Voters []string `json:"voters"`
}

// NodeMark is a client node's identity and modify index.
type NodeMark struct {
	Name        string `json:"name"`
	ModifyIndex uint64 `json:"modify_index"`
}

// Drift is one difference between a saved fingerprint and the live one.
type Drift struct {
	// Kind is "raft_index", "leader", "voters", "node", "job" or "source".
	Kind string `json:"kind"`
	// Subject names what moved: "nomad", "node c1 (3f2a1b2c)", "job default/web".
	Subject string `json:"subject"`
	Saved   string `json:"saved"`
	Live    string `json:"live"`
}

// String renders the drift in one line, e.g.
//
//	node c1 (3f2a1b2c): ModifyIndex 42 -> 57
//	nomad leader s1 -> s2
func (d Drift) String() string {
	switch d.Kind {
	case "node", "job":
		return fmt.Sprintf("%s: %s -> %s", d.Subject, d.Saved, d.Live)
	case "source":
		return "runbook sources changed (" + d.Saved + " -> " + d.Live + ")"
	}
	return fmt.Sprintf("%s %s %s -> %s", d.Subject, strings.ReplaceAll(d.Kind, "_", " "), d.Saved, d.Live)
}

// FingerprintOf takes the fingerprint of view for the given node IDs and
// job keys ("namespace/id"). Nodes and jobs the view does not hold are left
// out.
func FingerprintOf(view *cview.View, nodeIDs []string, jobKeys []string) Fingerprint {
	var f Fingerprint
	if view == nil {
		return f
	}
	if view.Nomad != nil {
		f.Nomad = raftFingerprint(view.Nomad.Raft)
		if len(nodeIDs) > 0 {
			byID := make(map[string]*cview.Node, len(view.Nomad.Nodes))
			for i := range view.Nomad.Nodes {
				byID[view.Nomad.Nodes[i].ID] = &view.Nomad.Nodes[i]
			}
			for _, id := range nodeIDs {
				if n, ok := byID[id]; ok {
					if f.Nodes == nil {
						f.Nodes = map[string]NodeMark{}
					}
					f.Nodes[id] = NodeMark{Name: n.Name, ModifyIndex: n.ModifyIndex}
				}
			}
		}
		for _, k := range jobKeys {
			ns, id, _ := strings.Cut(k, "/")
			if j, ok := view.Nomad.Job(ns, id); ok {
				if f.Jobs == nil {
					f.Jobs = map[string]uint64{}
				}
				f.Jobs[j.Namespace+"/"+j.ID] = j.JobModifyIndex
			}
		}
	}
	if view.Consul != nil {
		f.Consul = raftFingerprint(view.Consul.Raft)
	}
	return f
}

func raftFingerprint(r cview.RaftView) *RaftFingerprint {
	rf := &RaftFingerprint{RaftIndex: r.Index, Voters: []string{}}
	if l, ok := r.Leader(); ok {
		rf.Leader = l.Name
	}
	for _, s := range r.Servers {
		if s.InRaft && s.Voter {
			rf.Voters = append(rf.Voters, s.ID+"@"+s.Address)
		}
	}
	sort.Strings(rf.Voters)
	return rf
}

// Compare lists what differs between f (saved) and live, in a fixed order:
// Nomad, Consul, then nodes and jobs by key. A node or job the saved
// fingerprint holds and live does not is reported as gone.
func (f Fingerprint) Compare(live Fingerprint) []Drift {
	var out []Drift
	out = append(out, compareRaft("nomad", f.Nomad, live.Nomad)...)
	out = append(out, compareRaft("consul", f.Consul, live.Consul)...)
	for _, id := range sortedKeys(f.Nodes) {
		saved := f.Nodes[id]
		subject := fmt.Sprintf("node %s (%s)", saved.Name, shortID(id))
		got, ok := live.Nodes[id]
		if !ok {
			out = append(out, Drift{Kind: "node", Subject: subject, Saved: fmt.Sprintf("ModifyIndex %d", saved.ModifyIndex), Live: "gone"})
			continue
		}
		if got.ModifyIndex != saved.ModifyIndex {
			out = append(out, Drift{Kind: "node", Subject: subject, Saved: fmt.Sprintf("ModifyIndex %d", saved.ModifyIndex), Live: fmt.Sprintf("%d", got.ModifyIndex)})
		}
	}
	for _, k := range sortedKeys(f.Jobs) {
		saved := f.Jobs[k]
		got, ok := live.Jobs[k]
		switch {
		case !ok:
			out = append(out, Drift{Kind: "job", Subject: "job " + k, Saved: fmt.Sprintf("JobModifyIndex %d", saved), Live: "gone"})
		case got != saved:
			out = append(out, Drift{Kind: "job", Subject: "job " + k, Saved: fmt.Sprintf("JobModifyIndex %d", saved), Live: fmt.Sprintf("%d", got)})
		}
	}
	return out
}

func compareRaft(name string, saved, live *RaftFingerprint) []Drift {
	if saved == nil {
		return nil
	}
	if live == nil {
		return []Drift{{Kind: "voters", Subject: name, Saved: strings.Join(saved.Voters, ","), Live: "(not read)"}}
	}
	var out []Drift
	if saved.RaftIndex != live.RaftIndex {
		out = append(out, Drift{Kind: "raft_index", Subject: name, Saved: fmt.Sprint(saved.RaftIndex), Live: fmt.Sprint(live.RaftIndex)})
	}
	if saved.Leader != live.Leader {
		out = append(out, Drift{Kind: "leader", Subject: name, Saved: orNone(saved.Leader), Live: orNone(live.Leader)})
	}
	if strings.Join(saved.Voters, ",") != strings.Join(live.Voters, ",") {
		out = append(out, Drift{Kind: "voters", Subject: name, Saved: "[" + strings.Join(saved.Voters, ", ") + "]", Live: "[" + strings.Join(live.Voters, ", ") + "]"})
	}
	return out
}

// CheckStale compares a saved plan with the live cluster and the runbook's
// current source hash (SourceHash of the re-read runbook; "" skips that
// comparison). It returns one sourceless error per drift, each saying what
// moved, or nothing when the plan still holds. The executor calls it for
// `nrun apply PLANFILE`.
func CheckStale(saved *Plan, live *cview.View, sourceHash string) hcl.Diagnostics {
	if saved == nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No saved plan", Detail: "There is no plan to compare with the cluster. Run nrun plan -out FILE first."}}
	}
	var drifts []Drift
	if sourceHash != "" && sourceHash != saved.Runbook.SourceHash {
		drifts = append(drifts, Drift{Kind: "source", Subject: "runbook", Saved: saved.Runbook.SourceHash, Live: sourceHash})
	}
	nodes := make([]string, 0, len(saved.Fingerprint.Nodes))
	for id := range saved.Fingerprint.Nodes {
		nodes = append(nodes, id)
	}
	jobs := make([]string, 0, len(saved.Fingerprint.Jobs))
	for k := range saved.Fingerprint.Jobs {
		jobs = append(jobs, k)
	}
	drifts = append(drifts, saved.Fingerprint.Compare(FingerprintOf(live, nodes, jobs))...)
	var diags hcl.Diagnostics
	for _, d := range drifts {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Saved plan is stale: " + d.String(),
			Detail:   staleDetail(d),
		})
	}
	return diags
}

func staleDetail(d Drift) string {
	const again = " Run nrun plan again, review the new plan and apply that one."
	switch d.Kind {
	case "source":
		return "The runbook's files are not the ones the plan was made from." + again
	case "node":
		return fmt.Sprintf("The %s changed since the plan was made (%s -> %s): it was drained, marked ineligible, went down or was purged, so the plan's preconditions and targets may no longer hold.%s", d.Subject, d.Saved, d.Live, again)
	case "job":
		return fmt.Sprintf("The %s was changed since the plan was made (%s -> %s).%s", d.Subject, d.Saved, d.Live, again)
	case "leader":
		return fmt.Sprintf("The %s leader changed from %s to %s since the plan was made, so the order of leader_last steps may be wrong.%s", d.Subject, d.Saved, d.Live, again)
	}
	return fmt.Sprintf("The %s server set changed since the plan was made (%s: %s -> %s).%s", d.Subject, strings.ReplaceAll(d.Kind, "_", " "), d.Saved, d.Live, again)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
