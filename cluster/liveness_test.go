package cluster

import (
	"context"
	"net"
	"testing"
)

// The probe tells a listening address from one nothing listens on.
func TestDialOutcome(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if got := dialOutcome(context.Background(), addr); got != RPCUp {
		t.Errorf("listening %s: %s, want %s", addr, got, RPCUp)
	}
	ln.Close()
	if got := dialOutcome(context.Background(), addr); got != RPCRefused {
		t.Errorf("closed %s: %s, want %s", addr, got, RPCRefused)
	}
}

func TestAliveRules(t *testing.T) {
	r := RaftView{Servers: []Server{
		{Name: "a", Address: "a:1", InRaft: true, Voter: true, Healthy: true, Status: "alive", RPC: RPCUp},
		{Name: "b", Address: "b:1", InRaft: true, Voter: true, Healthy: true, Status: "alive", RPC: RPCRefused},
		{Name: "c", Address: "c:1", InRaft: true, Voter: true, Healthy: true, Status: "alive", RPC: RPCNoAnswer},
		{Name: "d", Address: "d:1", InRaft: true, Voter: true, Healthy: true, Status: "failed", RPC: RPCUp},
	}}
	want := map[string]bool{"a": true, "b": false, "c": false, "d": false}
	for _, s := range r.Servers {
		if got, why := r.Alive(s); got != want[s.Name] || !got && why == "" {
			t.Errorf("Alive(%s) = %v (%q), want %v with a reason when not", s.Name, got, why, want[s.Name])
		}
	}
	if n := r.HealthyVoters(); n != 1 {
		t.Errorf("HealthyVoters = %d, want 1", n)
	}
	if r.Liveness() != LivenessProbe {
		t.Errorf("Liveness = %q", r.Liveness())
	}
	// No server reachable: the probe says nothing, gossip decides.
	for i := range r.Servers {
		r.Servers[i].RPC = RPCNoAnswer
	}
	if n := r.HealthyVoters(); n != 3 || r.Liveness() != LivenessGossip {
		t.Errorf("filtered: HealthyVoters = %d (want 3), Liveness %q", n, r.Liveness())
	}
}
