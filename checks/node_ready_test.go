package checks

import (
	"strings"
	"testing"
	"time"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

// TestNodeReady: as a precondition (no Since) node_ready reads the current
// record; after a restarting action (Since set) only a record the agent
// registered since passes: judged against the record read right before
// the action (Prior) when there is one, else against the action's second.
func TestNodeReady(t *testing.T) {
	began := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	node := func(status string, at time.Time) *cluster.View {
		return &cluster.View{Nomad: &cluster.NomadView{Nodes: []cluster.Node{{ID: "n1", Name: "c1", Version: "1.10.0",
			Status: status, Eligibility: "eligible", StatusUpdatedAt: at}}}}
	}
	prior := func(status string, at time.Time) *PriorNode { return &PriorNode{Status: status, StatusUpdatedAt: at} }
	target := Target{Kind: lang.TargetNomadNode, Name: "c1"}
	action := began.Add(300 * time.Millisecond)
	cases := map[string]struct {
		view   *cluster.View
		since  time.Time
		prior  *PriorNode
		ok     bool
		reason string
	}{
		"precondition, ready": {node("ready", began.Add(-time.Hour)), time.Time{}, nil, true, ""},
		"precondition, down":  {node("down", began), time.Time{}, nil, false, "not ready"},

		// Without the record from before (a resume): the action's second.
		"old record after the action":       {node("ready", began.Add(-time.Minute)), began, nil, false, "not registered again"},
		"old record a second before":        {node("ready", began.Add(-time.Second)), began.Add(10 * time.Millisecond), nil, false, "not registered again"},
		"re-registered after the action":    {node("ready", began.Add(7*time.Second)), began, nil, true, ""},
		"same second as the action":         {node("ready", began), action, nil, false, "not registered again"},
		"the second after the action":       {node("ready", began.Add(time.Second)), began.Add(900 * time.Millisecond), nil, true, ""},
		"re-registered, still initializing": {node("initializing", began.Add(time.Second)), began, nil, false, "not ready"},
		"down after the action":             {node("down", began.Add(time.Second)), began, nil, false, "not ready"},
		"no status time":                    {node("ready", time.Time{}), began, nil, false, "not registered again"},

		// With it: the servers' own clock decides, so a fast restart in
		// the action's second passes and the old record never does.
		"prior: the old record":                            {node("ready", began.Add(-time.Minute)), action, prior("ready", began.Add(-time.Minute)), false, "not registered again"},
		"prior: old record changed in the action's second": {node("ready", began), action, prior("ready", began), false, "not registered again"},
		"prior: registered in the action's second":         {node("ready", began), action, prior("ready", began.Add(-time.Minute)), true, ""},
		"prior: ready after down, in the same second":      {node("ready", began), action, prior("down", began), true, ""},
		"prior: registered, still initializing":            {node("initializing", began.Add(time.Second)), action, prior("ready", began.Add(-time.Minute)), false, "not ready"},
		"prior: down since the action":                     {node("down", began.Add(time.Second)), action, prior("ready", began.Add(-time.Minute)), false, "not ready"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := Eval(lang.CheckNodeReady, Args{Since: tc.since, Prior: tc.prior}, target, tc.view)
			if r.OK != tc.ok {
				t.Fatalf("OK = %v, want %v: %s", r.OK, tc.ok, r)
			}
			if !tc.ok && !strings.Contains(r.Reason, tc.reason) {
				t.Errorf("reason %q does not say %q", r.Reason, tc.reason)
			}
			// node_version decides re-registration the same way.
			v := Eval(lang.CheckNodeVersion, Args{Version: "1.10.0", Since: tc.since, Prior: tc.prior}, target, tc.view)
			if v.OK != tc.ok {
				t.Errorf("node_version OK = %v, want %v as node_ready: %s", v.OK, tc.ok, v)
			}
		})
	}
}
