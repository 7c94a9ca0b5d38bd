package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

// Outcomes of the RPC probe (Server.RPC): nrun opens a TCP connection to
// each Raft peer's Raft/RPC address when it takes a view.
const (
	// RPCUp: the connection opened; a process listens there.
	RPCUp = "up"
	// RPCRefused: the address refused the connection; nothing listens,
	// the agent is down (or a firewall rejects).
	RPCRefused = "refused"
	// RPCNoAnswer: no answer within RPCProbeTimeout, or another error.
	RPCNoAnswer = "no_answer"
)

// RPCProbeTimeout bounds one connection attempt of the RPC probe. The
// probes of a view run in parallel, so a view takes at most this long more.
const RPCProbeTimeout = time.Second

// probeRPC fills Server.RPC for every Raft peer of r.
func probeRPC(ctx context.Context, r *RaftView, dial func(context.Context, string) string) {
	var wg sync.WaitGroup
	for i := range r.Servers {
		s := &r.Servers[i]
		if !s.InRaft || s.Address == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.RPC = dial(ctx, s.Address)
		}()
	}
	wg.Wait()
}

func dialOutcome(ctx context.Context, addr string) string {
	d := net.Dialer{Timeout: RPCProbeTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		conn.Close()
		return RPCUp
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return RPCRefused
	}
	return RPCNoAnswer
}

// rpcProbeUsable reports whether the RPC probe can tell anything from
// where the view was taken: at least one server's RPC address accepted a
// connection. When none did although the API answered, RPC ports are not
// reachable from here (a firewall), and the probe says nothing.
func (r RaftView) rpcProbeUsable() (usable, probed bool) {
	for _, s := range r.Servers {
		if s.RPC != "" {
			probed = true
		}
		if s.RPC == RPCUp {
			return true, true
		}
	}
	return false, probed
}

// Alive says whether s is alive by signals that do not come from
// autopilot, and when not, why. Autopilot keeps calling a server that just
// died healthy until gossip marks it failed (seconds, longer under load),
// and may never notice a quick restart; so a voter counts toward quorum
// (HealthyVoters) only when autopilot calls it healthy and Alive holds.
//
// The rule, failing closed:
//   - gossip reporting it anything but alive (failed, leaving, left) means
//     not alive;
//   - when the RPC probe reached any server of the view, s is alive only if
//     its own RPC address accepted the connection: refused means the agent
//     is down, no answer (or no probe) means nrun cannot prove it is up;
//   - when the probe reached no server (RPC ports filtered from where nrun
//     runs) or the view was taken without it (an older inventory), gossip
//     alone decides: alive only when gossip reports it alive. This keeps
//     nrun usable behind a firewall, at the price of gossip's detection
//     delay; Liveness says so.
func (r RaftView) Alive(s Server) (bool, string) {
	if s.Status != "" && s.Status != "alive" {
		return false, "gossip reports it " + s.Status
	}
	usable, _ := r.rpcProbeUsable()
	if usable {
		switch s.RPC {
		case RPCUp:
			return true, ""
		case RPCRefused:
			return false, fmt.Sprintf("its RPC address %s refuses connections, so its agent is not running", s.Address)
		case RPCNoAnswer:
			return false, fmt.Sprintf("its RPC address %s did not answer within %s", s.Address, RPCProbeTimeout)
		default:
			return false, fmt.Sprintf("nrun did not probe its RPC address %s", s.Address)
		}
	}
	if s.Status != "alive" {
		return false, "gossip does not know it and its RPC address cannot be probed from here"
	}
	return true, ""
}

// What Liveness answers.
const (
	LivenessProbe    = "gossip and RPC probe"
	LivenessGossip   = "gossip only: no server's RPC address accepts connections from where nrun runs"
	LivenessUnprobed = "gossip only: the view has no RPC probe"
)

// Liveness says which signal Alive used for this view, for messages.
func (r RaftView) Liveness() string {
	usable, probed := r.rpcProbeUsable()
	switch {
	case usable:
		return LivenessProbe
	case probed:
		return LivenessGossip
	default:
		return LivenessUnprobed
	}
}

// Counted reports whether s counts as a healthy voter: a voter in the Raft
// configuration, healthy by autopilot and alive by Alive.
func (r RaftView) Counted(s Server) bool {
	if !s.InRaft || !s.Voter || !s.Healthy {
		return false
	}
	ok, _ := r.Alive(s)
	return ok
}
