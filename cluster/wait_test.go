package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestWaits(t *testing.T) {
	f := newFakeAPI(t, "testdata/api/healthy3.json")
	f.set("consul GET /v1/health/node/c1", answer{Index: 140, Body: json.RawMessage(`[
	  {"Node": "c1", "CheckID": "serfHealth", "Name": "Serf Health Status", "Status": "passing", "Notes": "", "ServiceID": "", "CreateIndex": 20, "ModifyIndex": 20},
	  {"Node": "c1", "CheckID": "_node_maintenance", "Name": "Node Maintenance Mode", "Status": "critical", "Notes": "nomad upgrade", "ServiceID": "", "CreateIndex": 140, "ModifyIndex": 140}]`)})
	type params struct{ index, wait, namespace string }
	got := map[string]params{}
	f.block = func(system string, r *http.Request) {
		q := r.URL.Query()
		got[system+" "+r.URL.Path] = params{q.Get("index"), q.Get("wait"), q.Get("namespace")}
	}
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	n, idx, err := c.WaitNode(ctx, "c0ffee00-0000-4000-8000-000000000001", 38)
	if err != nil || idx != 39 || n.Name != "c1" || n.LastDrain == nil || n.LastDrain.Status != "complete" || n.Eligibility != "ineligible" {
		t.Errorf("WaitNode = %+v, %d, %v", n, idx, err)
	}
	allocs, idx, err := c.WaitNodeAllocs(ctx, "c0ffee00-0000-4000-8000-000000000001", 40)
	if err != nil || idx != 41 || allocs != (AllocCount{NonTerminal: 2, System: 1}) {
		t.Errorf("WaitNodeAllocs = %+v, %d, %v", allocs, idx, err)
	}
	d, idx, err := c.WaitDeployment(ctx, JobRef{Namespace: "prod", ID: "web"}, 51)
	if err != nil || idx != 52 || d == nil || d.Status != "successful" || d.Groups["web"].HealthyAllocs != 2 {
		t.Errorf("WaitDeployment = %+v, %d, %v", d, idx, err)
	}
	cn, idx, err := c.WaitConsulNode(ctx, "c1", 139)
	if err != nil || idx != 140 || !cn.Maintenance || cn.MaintenanceReason != "nomad upgrade" {
		t.Errorf("WaitConsulNode = %+v, %d, %v", cn, idx, err)
	}

	want := map[string]params{
		"nomad /v1/node/c0ffee00-0000-4000-8000-000000000001":             {"38", "2000ms", ""},
		"nomad /v1/node/c0ffee00-0000-4000-8000-000000000001/allocations": {"40", "2000ms", ""},
		"nomad /v1/job/web/deployment":                                    {"51", "2000ms", "prod"},
		"consul /v1/health/node/c1":                                       {"139", "2000ms", ""},
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s sent index/wait/namespace %+v, want %+v", k, got[k], w)
		}
	}
}

func TestWaitHonoursContext(t *testing.T) {
	f := newFakeAPI(t, "testdata/api/healthy3.json")
	f.block = func(_ string, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}
	c := newTestClient(t, f, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, idx, err := c.WaitNode(ctx, "c0ffee00-0000-4000-8000-000000000001", 39)
	if err == nil {
		t.Fatal("WaitNode returned no error after its context ended")
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("WaitNode took %v; it must return when ctx ends", time.Since(start))
	}
	if idx != 39 {
		t.Errorf("index after a failed wait = %d, want the caller's 39 back", idx)
	}
	var e *Error
	if !errors.As(err, &e) || e.Problem != ProblemCanceled {
		t.Errorf("error %v (%T) is not a cancelled *cluster.Error", err, err)
	}
}
