package executor

import (
	"testing"

	"github.com/nrun-dev/nrun/checks"
	"github.com/nrun-dev/nrun/lang"
)

func TestConsulNodeName(t *testing.T) {
	tests := map[string]struct {
		target checks.Target
		want   string
	}{
		"nomad server loses its region": {checks.Target{Kind: lang.TargetNomadServer, ID: "78201f75-ae6f", Name: "blue-server-1.global"}, "blue-server-1"},
		"nomad server on a dotted host": {checks.Target{Kind: lang.TargetNomadServer, Name: "web-1.example.com.eu"}, "web-1.example.com"},
		"nomad server never by raft id": {checks.Target{Kind: lang.TargetNomadServer, ID: "78201f75-ae6f"}, ""},
		"nomad node keeps its name":     {checks.Target{Kind: lang.TargetNomadNode, ID: "3ba015b8", Name: "web-1.example.com"}, "web-1.example.com"},
		"consul server":                 {checks.Target{Kind: lang.TargetConsulServer, Name: "consul1"}, "consul1"},
		"a name string":                 {checks.Target{Name: "blue-server-1.global"}, "blue-server-1.global"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := consulNodeName(tc.target); got != tc.want {
				t.Fatalf("consulNodeName(%+v) = %q, want %q", tc.target, got, tc.want)
			}
		})
	}
}
