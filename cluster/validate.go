package cluster

import (
	"fmt"
)

// Validate checks that a View read back from a file (nrun plan -inventory)
// is one a Snapshot could have produced: every server and node named,
// names and IDs unique, at most one leader per Raft cluster. A hand-edited
// or truncated file otherwise plans nonsense, such as an instance keyed ""
// for a null server, two servers merged under one name, or three leaders.
// It returns one error per problem, each a sentence naming where it is;
// nil when the view is sound. A View from Snapshot always passes.
func (v *View) Validate() []error {
	if v == nil {
		return []error{fmt.Errorf("the inventory is empty (null)")}
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if v.Nomad != nil {
		raftProblems("nomad.raft.servers", v.Nomad.Raft, add)
		names, ids := map[string]int{}, map[string]int{}
		for i, n := range v.Nomad.Nodes {
			at := fmt.Sprintf("nomad.nodes[%d]", i)
			if n.Name == "" {
				add("%s has no name", at)
			} else if j, dup := names[n.Name]; dup {
				add("%s and nomad.nodes[%d] are both named %q", at, j, n.Name)
			} else {
				names[n.Name] = i
			}
			if n.ID == "" {
				add("%s (%q) has no id", at, n.Name)
			} else if j, dup := ids[n.ID]; dup {
				add("%s and nomad.nodes[%d] have the same id %q", at, j, n.ID)
			} else {
				ids[n.ID] = i
			}
		}
	}
	if v.Consul != nil {
		raftProblems("consul.raft.servers", v.Consul.Raft, add)
		names := map[string]int{}
		for i, n := range v.Consul.Nodes {
			at := fmt.Sprintf("consul.nodes[%d]", i)
			if n.Name == "" {
				add("%s has no name", at)
			} else if j, dup := names[n.Name]; dup {
				add("%s and consul.nodes[%d] are both named %q", at, j, n.Name)
			} else {
				names[n.Name] = i
			}
		}
	}
	return errs
}

func raftProblems(where string, r RaftView, add func(string, ...any)) {
	names, ids := map[string]int{}, map[string]int{}
	var leaders []string
	for i, s := range r.Servers {
		at := fmt.Sprintf("%s[%d]", where, i)
		if s.Name == "" {
			add("%s has no name", at)
		} else if s.Name == UnknownNode {
			add("%s (id %q at %s) is named %q: no gossip member named it when the view was read", at, s.ID, s.Address, s.Name)
		} else if j, dup := names[s.Name]; dup {
			add("%s and %s[%d] are both named %q", at, where, j, s.Name)
		} else {
			names[s.Name] = i
		}
		if s.ID != "" {
			if j, dup := ids[s.ID]; dup {
				add("%s and %s[%d] have the same id %q", at, where, j, s.ID)
			} else {
				ids[s.ID] = i
			}
		}
		if s.Leader {
			leaders = append(leaders, fmt.Sprintf("%q", s.Name))
		}
	}
	if len(leaders) > 1 {
		add("%s has %d leaders (%v); a Raft cluster has at most one", where, len(leaders), leaders)
	}
}
