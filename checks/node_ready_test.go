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
// registered at or after the action's second passes.
func TestNodeReady(t *testing.T) {
	began := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	node := func(status string, at time.Time) *cluster.View {
		return &cluster.View{Nomad: &cluster.NomadView{Nodes: []cluster.Node{{ID: "n1", Name: "c1", Version: "1.10.0",
			Status: status, Eligibility: "eligible", StatusUpdatedAt: at}}}}
	}
	target := Target{Kind: lang.TargetNomadNode, Name: "c1"}
	cases := map[string]struct {
		view   *cluster.View
		since  time.Time
		ok     bool
		reason string
	}{
		"precondition, ready":               {node("ready", began.Add(-time.Hour)), time.Time{}, true, ""},
		"precondition, down":                {node("down", began), time.Time{}, false, "not ready"},
		"old record after the action":       {node("ready", began.Add(-time.Minute)), began, false, "not registered again"},
		"old record a second before":        {node("ready", began.Add(-time.Second)), began.Add(10 * time.Millisecond), false, "not registered again"},
		"re-registered after the action":    {node("ready", began.Add(7*time.Second)), began, true, ""},
		"same second as the action":         {node("ready", began), began.Add(600 * time.Millisecond), false, "not registered again"},
		"the second after the action":       {node("ready", began.Add(time.Second)), began.Add(900 * time.Millisecond), true, ""},
		"re-registered, still initializing": {node("initializing", began.Add(time.Second)), began, false, "not ready"},
		"down after the action":             {node("down", began.Add(time.Second)), began, false, "not ready"},
		"no status time":                    {node("ready", time.Time{}), began, false, "not registered again"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := Eval(lang.CheckNodeReady, Args{Since: tc.since}, target, tc.view)
			if r.OK != tc.ok {
				t.Fatalf("OK = %v, want %v: %s", r.OK, tc.ok, r)
			}
			if !tc.ok && !strings.Contains(r.Reason, tc.reason) {
				t.Errorf("reason %q does not say %q", r.Reason, tc.reason)
			}
		})
	}
}
