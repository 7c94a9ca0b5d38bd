package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDiagnostics(t *testing.T) {
	f := newFakeAPI(t, "testdata/api/healthy3.json")
	f.set("nomad GET /v1/operator/raft/configuration", answer{Status: 403, Body: json.RawMessage(`"Permission denied"`)})
	f.set("nomad GET /v1/operator/autopilot/health", answer{Status: 403, Body: json.RawMessage(`"Permission denied"`)})
	f.consul.Close()
	c := newTestClient(t, f, nil, "NOMAD_TOKEN", "tok-123456")
	_, err := c.Snapshot(context.Background(), SnapshotOptions{Nomad: true, Consul: true})
	diags := Diagnostics(err)
	if len(diags) != 2 {
		t.Fatalf("got %d diagnostics, want one per cluster: %v", len(diags), diags)
	}
	want := []struct{ summary, detail string }{
		{"Nomad refused the token", "nrun could not read the Raft configuration (a management token's) or autopilot health (operator:read): Unexpected response code: 403 (Permission denied). nrun tried " + c.Config().NomadAddress + " (from NOMAD_ADDR). The token in NOMAD_TOKEN was refused."},
		{"Cannot reach Consul", "nrun could not read the Raft configuration: "},
	}
	for i, d := range diags {
		if d.Subject != nil {
			t.Errorf("diagnostic %d has a source range; cluster problems are sourceless", i)
		}
		if d.Summary != want[i].summary || !strings.HasPrefix(d.Detail, want[i].detail) {
			t.Errorf("diagnostic %d:\n got %q / %q\nwant %q / %q...", i, d.Summary, d.Detail, want[i].summary, want[i].detail)
		}
		if strings.Contains(d.Detail, "tok-123456") {
			t.Errorf("diagnostic leaks the token: %s", d.Detail)
		}
	}
	if Diagnostics(nil) != nil {
		t.Errorf("nil error gave diagnostics")
	}
	if d := Diagnostics(errors.New("boom")); len(d) != 1 || d[0].Detail != "boom" {
		t.Errorf("plain error: %v", d)
	}
}
