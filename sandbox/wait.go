package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// waitFor polls cond every 250ms until it holds, an agent that should run
// has died, or the ready timeout passes. cond returns a short description of
// what it saw, which the error repeats so a timeout says what was missing.
func (c *Cluster) waitFor(ctx context.Context, what string, cond func() (bool, string)) error {
	ctx, cancel := context.WithTimeout(ctx, c.st.ReadyTimeout)
	defer cancel()
	start := time.Now()
	for {
		ok, seen := cond()
		if ok {
			return nil
		}
		if a := c.deadAgent(); a != nil {
			// Another process may have stopped or removed it since this
			// one read the state: believe the state file.
			c.refresh()
			if a := c.deadAgent(); a != nil {
				return fmt.Errorf("waiting for %s: %s %s (pid %d) exited; see %s", what, a.Kind, a.Name, a.PID, a.LogFile())
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: gave up after %s (%v); last seen: %s", what, time.Since(start).Round(time.Millisecond), ctx.Err(), seen)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// deadAgent is an agent the state says runs whose process is gone.
func (c *Cluster) deadAgent() *Agent {
	for _, a := range c.st.Agents {
		if a.PID != 0 && !c.running(a) {
			return a
		}
	}
	return nil
}

// consulGet reads path from a Consul agent's HTTP API (HTTPS with the
// management token in a secure sandbox).
func (c *Cluster) consulGet(a *Agent, path string, out any) error {
	return c.consulDo(http.MethodGet, a, path, nil, out)
}

// waitConsul waits until every running Consul server reports a leader and
// all Consul servers as Raft peers.
func (c *Cluster) waitConsul(ctx context.Context) error {
	consuls := c.agents(ConsulServer)
	return c.waitFor(ctx, "a Consul leader", func() (bool, string) {
		for _, a := range consuls {
			if !c.running(a) {
				continue
			}
			var leader string
			if err := c.consulGet(a, "/v1/status/leader", &leader); err != nil {
				return false, fmt.Sprintf("%s: %v", a.Name, err)
			}
			if leader == "" {
				return false, a.Name + " has no leader yet"
			}
			var peers []string
			if err := c.consulGet(a, "/v1/status/peers", &peers); err != nil {
				return false, fmt.Sprintf("%s: %v", a.Name, err)
			}
			if len(peers) != len(consuls) {
				return false, fmt.Sprintf("%s sees %d of %d Raft peers", a.Name, len(peers), len(consuls))
			}
		}
		return true, ""
	})
}

// leader asks every running server for the leader and maps its RPC address
// to a server name. It fails when servers disagree or none knows.
func (c *Cluster) leader() (string, error) {
	var seen []string
	name := ""
	for _, a := range c.agents(NomadServer) {
		if !c.running(a) {
			continue
		}
		cl, err := c.nomadAPI(a)
		if err != nil {
			return "", err
		}
		addr, err := cl.Status().Leader()
		if err != nil {
			return "", fmt.Errorf("%s: %v", a.Name, err)
		}
		if addr == "" {
			return "", fmt.Errorf("%s knows no leader", a.Name)
		}
		n := c.serverByRPC(addr)
		if name != "" && n != name {
			return "", fmt.Errorf("servers disagree on the leader: %s", strings.Join(append(seen, a.Name+"->"+n), ", "))
		}
		name = n
		seen = append(seen, a.Name+"->"+n)
	}
	if name == "" {
		return "", fmt.Errorf("no Nomad server is running")
	}
	return name, nil
}

func (c *Cluster) serverByRPC(addr string) string {
	for _, a := range c.agents(NomadServer) {
		if a.RPCAddr() == addr {
			return a.Name
		}
	}
	return addr
}

// Leader returns the name of the Nomad leader, as every running server
// reports it.
func (c *Cluster) Leader() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leader()
}

// WaitLeader waits until every running server agrees on a leader other
// than any name in not (pass the old leader after killing it).
func (c *Cluster) WaitLeader(ctx context.Context, not ...string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var name string
	err := c.waitFor(ctx, "a Nomad leader", func() (bool, string) {
		n, err := c.leader()
		if err != nil {
			return false, err.Error()
		}
		for _, x := range not {
			if n == x {
				return false, "leader is still " + n
			}
		}
		name = n
		return true, ""
	})
	if err != nil {
		return "", c.withTails(err)
	}
	return name, nil
}

func (c *Cluster) waitLeader(ctx context.Context) error {
	return c.waitFor(ctx, "a Nomad leader", func() (bool, string) {
		_, err := c.leader()
		if err != nil {
			return false, err.Error()
		}
		return true, ""
	})
}

// raftConfig reads the Raft configuration through a running server.
func (c *Cluster) raftConfig() (*api.RaftConfiguration, error) {
	a := c.firstRunningLive(NomadServer)
	if a == nil {
		return nil, fmt.Errorf("no Nomad server")
	}
	cl, err := c.nomadAPI(a)
	if err != nil {
		return nil, err
	}
	return cl.Operator().RaftGetConfiguration(nil)
}

// waitVoters waits until the Raft configuration holds exactly the named
// servers, all voters.
func (c *Cluster) waitVoters(ctx context.Context, names []string) error {
	want := map[string]bool{}
	for _, n := range names {
		a, err := c.find(NomadServer, n)
		if err != nil {
			return err
		}
		want[a.RPCAddr()] = true
	}
	return c.waitFor(ctx, "every Nomad server to be a Raft voter", func() (bool, string) {
		rc, err := c.raftConfig()
		if err != nil {
			return false, err.Error()
		}
		var seen []string
		ok := len(rc.Servers) == len(want)
		for _, s := range rc.Servers {
			seen = append(seen, fmt.Sprintf("%s voter=%v", c.serverByRPC(s.Address), s.Voter))
			if !want[s.Address] || !s.Voter {
				ok = false
			}
		}
		return ok, fmt.Sprintf("raft peers [%s], want %s all voters", strings.Join(seen, ", "), strings.Join(names, ", "))
	})
}

// waitClients waits until each named client is a ready node with raw_exec
// detected and healthy.
func (c *Cluster) waitClients(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	return c.waitFor(ctx, "Nomad clients to be ready", func() (bool, string) {
		a := c.firstRunningLive(NomadServer)
		if a == nil {
			return false, "no Nomad server"
		}
		cl, err := c.nomadAPI(a)
		if err != nil {
			return false, err.Error()
		}
		nodes, _, err := cl.Nodes().List(nil)
		if err != nil {
			return false, err.Error()
		}
		ready := map[string]bool{}
		var seen []string
		for _, n := range nodes {
			d := n.Drivers["raw_exec"]
			raw := d != nil && d.Detected && d.Healthy
			seen = append(seen, fmt.Sprintf("%s %s raw_exec=%v", n.Name, n.Status, raw))
			if n.Status == "ready" && raw {
				ready[n.Name] = true
			}
		}
		for _, n := range names {
			if !ready[n] {
				sort.Strings(seen)
				return false, fmt.Sprintf("%s not ready; nodes: [%s]", n, strings.Join(seen, ", "))
			}
		}
		return true, ""
	})
}

// AutopilotHealth reads /v1/operator/autopilot/health. Nomad answers 429
// when the cluster is unhealthy, and the Go API client turns that into an
// error; this reads the body either way, so callers can see which server is
// unhealthy and what the failure tolerance is.
func (c *Cluster) AutopilotHealth() (*api.OperatorHealthReply, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.autopilotHealth()
}

func (c *Cluster) autopilotHealth() (*api.OperatorHealthReply, error) {
	a := c.firstRunningLive(NomadServer)
	if a == nil {
		return nil, fmt.Errorf("no running Nomad server")
	}
	hc, err := c.httpc()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodGet, c.scheme()+"://"+a.HTTPAddr()+"/v1/operator/autopilot/health", nil)
	if err != nil {
		return nil, err
	}
	if t := c.nomadToken(); t != "" {
		req.Header.Set("X-Nomad-Token", t)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusTooManyRequests {
		return nil, fmt.Errorf("autopilot health from %s: %s", a.Name, resp.Status)
	}
	var out api.OperatorHealthReply
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("autopilot health from %s: %v", a.Name, err)
	}
	return &out, nil
}

// WaitHealthy waits until autopilot reports the cluster healthy with at
// least the given failure tolerance.
func (c *Cluster) WaitHealthy(ctx context.Context, tolerance int) (*api.OperatorHealthReply, error) {
	var last *api.OperatorHealthReply
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.waitFor(ctx, fmt.Sprintf("autopilot healthy with failure tolerance %d", tolerance), func() (bool, string) {
		h, err := c.autopilotHealth()
		if err != nil {
			return false, err.Error()
		}
		last = h
		var s []string
		for _, sv := range h.Servers {
			s = append(s, fmt.Sprintf("%s healthy=%v voter=%v %s", sv.Name, sv.Healthy, sv.Voter, sv.Version))
		}
		return h.Healthy && h.FailureTolerance >= tolerance, fmt.Sprintf("healthy=%v tolerance=%d servers [%s]", h.Healthy, h.FailureTolerance, strings.Join(s, ", "))
	})
	if err != nil {
		return last, c.withTails(err)
	}
	return last, nil
}

// waitAllHealthy waits until autopilot calls every Nomad server a healthy
// voter and the failure tolerance is what that many voters give. Raft
// membership alone is not enough: right after start autopilot still counts
// servers unhealthy until server_stabilization_time passes, and a runbook's
// quorum_ok planned in that window would pause on "2/3 voters healthy".
func (c *Cluster) waitAllHealthy(ctx context.Context) error {
	names := c.names(NomadServer)
	if len(names) == 0 {
		return nil
	}
	want := len(names) - (len(names)/2 + 1)
	return c.waitFor(ctx, fmt.Sprintf("autopilot to call all %d servers healthy", len(names)), func() (bool, string) {
		h, err := c.autopilotHealth()
		if err != nil {
			return false, err.Error()
		}
		healthy := 0
		var s []string
		for _, sv := range h.Servers {
			if sv.Healthy && sv.Voter {
				healthy++
			}
			s = append(s, fmt.Sprintf("%s healthy=%v voter=%v", sv.Name, sv.Healthy, sv.Voter))
		}
		ok := h.Healthy && healthy == len(names) && h.FailureTolerance >= want
		return ok, fmt.Sprintf("healthy=%v tolerance=%d servers [%s]", h.Healthy, h.FailureTolerance, strings.Join(s, ", "))
	})
}

func (c *Cluster) firstRunningLive(k Kind) *Agent {
	for _, a := range c.agents(k) {
		if c.running(a) {
			return a
		}
	}
	return nil
}
