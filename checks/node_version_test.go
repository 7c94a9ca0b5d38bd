package checks

import (
	"testing"
	"time"

	"github.com/nrun-dev/nrun/cluster"
	"github.com/nrun-dev/nrun/lang"
)

func TestNodeVersion(t *testing.T) {
	began := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	node := func(ver, status string, at time.Time) *cluster.View {
		return &cluster.View{Nomad: &cluster.NomadView{Nodes: []cluster.Node{{ID: "n1", Name: "c1", Version: ver, Status: status, StatusUpdatedAt: at}}}}
	}
	target := Target{Kind: lang.TargetNomadNode, Name: "c1"}
	cases := map[string]struct {
		view  *cluster.View
		want  string
		since time.Time
		ok    bool
	}{
		"newer":                 {node("1.10.10", "ready", began), "1.10.2", time.Time{}, true},
		"equal":                 {node("1.10.2", "ready", began), "1.10.2", time.Time{}, true},
		"older, semver order":   {node("1.9.10", "ready", began), "1.10.0", time.Time{}, false},
		"not ready":             {node("1.10.2", "down", began), "1.10.0", time.Time{}, false},
		"no version":            {node("", "ready", began), "1.10.0", time.Time{}, false},
		"bad wanted version":    {node("1.10.2", "ready", began), "one", time.Time{}, false},
		"re-registered in wait": {node("1.10.2", "ready", began.Add(time.Minute)), "1.10.0", began, true},
		"same second as start":  {node("1.10.2", "ready", began), "1.10.0", began.Add(300 * time.Millisecond), false},
		"the second after":      {node("1.10.2", "ready", began.Add(time.Second)), "1.10.0", began.Add(300 * time.Millisecond), true},
		"old record in wait":    {node("1.10.2", "ready", began.Add(-time.Minute)), "1.10.0", began, false},
		"no status time (list)": {node("1.10.2", "ready", time.Time{}), "1.10.0", began, false},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			r := Eval(lang.CheckNodeVersion, Args{Version: tc.want, Since: tc.since}, target, tc.view)
			if r.OK != tc.ok {
				t.Errorf("OK = %v, want %v: %s", r.OK, tc.ok, r)
			}
			if !r.OK && r.Reason == "" {
				t.Errorf("a failing result must say why: %s", r)
			}
		})
	}
}
