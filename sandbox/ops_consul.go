package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"
)

// The lifecycle of the sandbox's Consul servers, as ops.go has it for the
// Nomad servers: stop and start again on the same data dir (optionally on
// another version: the restart step of a rolling upgrade), kill, add and
// remove.
//
// What the Nomad agents see: a Nomad agent with its own Consul client
// agent (-consul-agents) talks to that agent, which reaches whichever
// Consul server is up, so stopping or replacing Consul servers one at a
// time does not disturb it. A Nomad agent without one is pointed at one
// Consul server's HTTP address when it starts (consulFor). While that
// server is stopped the Nomad agent keeps running, but its Consul calls
// (service registration and checks) fail and are retried until the server
// is back on the same address; a removed server's address stays dead for
// it until that Nomad agent is restarted, which points it at a server that
// exists.

// consulRaftServer is one peer of /v1/operator/raft/configuration.
type consulRaftServer struct {
	ID      string
	Node    string
	Address string
	Leader  bool
	Voter   bool
}

// consulMember is one entry of /v1/agent/members. Status 1 is alive.
type consulMember struct {
	Name   string
	Status int
	Tags   map[string]string
}

// consulBuild is the version in a Consul member's build tag
// ("1.21.0:4e6b0d4c", or "1.21.0:" for a build without a revision).
func consulBuild(tags map[string]string) string {
	v, _, _ := strings.Cut(tags["build"], ":")
	return v
}

// StopConsulServer stops a Consul server with SIGTERM. A Consul server
// does not leave the cluster on SIGTERM (leave_on_terminate defaults to
// false for servers): it stays a Raft peer and keeps its data dir, as when
// an operator stops the service to swap the binary. It waits for the
// process to exit (SIGKILL after 30s).
func (c *Cluster) StopConsulServer(ctx context.Context, name string) error {
	return c.stopAgent(ctx, consulServers, name)
}

// KillConsulServer sends SIGKILL to a Consul server: a crash.
func (c *Cluster) KillConsulServer(ctx context.Context, name string) error {
	return c.killAgent(ctx, consulServers, name)
}

// StartConsulServer starts a stopped Consul server on its old data dir and
// ports. A non-empty version swaps the binary first: the restart step of a
// rolling upgrade. It returns once the server knows the leader, every
// running Consul server sees it alive on that version, and it is a Raft
// voter.
func (c *Cluster) StartConsulServer(ctx context.Context, name, version string) error {
	return c.startAgent(ctx, consulServers, name, version)
}

// waitConsulServerUp waits until a Consul server answers on its own API
// with a known leader, is an alive member on its expected version in the
// view of every running Consul server, and is a Raft voter.
func (c *Cluster) waitConsulServerUp(ctx context.Context, a *Agent) error {
	return c.waitFor(ctx, fmt.Sprintf("Consul server %s to rejoin on %s", a.Name, a.Version), func() (bool, string) {
		var leader string
		if err := c.consulGet(a, "/v1/status/leader", &leader); err != nil {
			return false, fmt.Sprintf("%s: %v", a.Name, err)
		}
		if leader == "" {
			return false, a.Name + " knows no leader"
		}
		if ok, seen := c.seenByAll(ConsulServer, a.Name, a.Version, func(viewer *Agent) ([]memberSeen, error) {
			var ms []consulMember
			if err := c.consulGet(viewer, "/v1/agent/members", &ms); err != nil {
				return nil, err
			}
			var out []memberSeen
			for _, m := range ms {
				out = append(out, memberSeen{name: m.Name, status: fmt.Sprint(m.Status), alive: m.Status == 1, version: consulBuild(m.Tags)})
			}
			return out, nil
		}); !ok {
			return false, seen
		}
		rc, err := c.consulRaft(a)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range rc {
			if s.Address == a.RPCAddr() {
				return s.Voter, fmt.Sprintf("%s voter=%v", a.Name, s.Voter)
			}
		}
		return false, a.Name + " is not a Raft peer yet"
	})
}

// consulRaft reads the Raft configuration through Consul server a.
func (c *Cluster) consulRaft(a *Agent) ([]consulRaftServer, error) {
	var rc struct{ Servers []consulRaftServer }
	if err := c.consulGet(a, "/v1/operator/raft/configuration", &rc); err != nil {
		return nil, fmt.Errorf("raft configuration from %s: %v", a.Name, err)
	}
	return rc.Servers, nil
}

// AddConsulServer starts a new Consul server that joins the running Consul
// servers, on version (empty: the sandbox's Consul version), and waits
// until autopilot has made it a voter.
func (c *Cluster) AddConsulServer(ctx context.Context, name, version string) error {
	done, release, err := c.lockEdit(ctx)
	if err != nil {
		return err
	}
	defer done()
	if err := c.checkNewName(name); err != nil {
		return err
	}
	servers := c.agents(ConsulServer)
	if len(servers) == 0 {
		return fmt.Errorf("the sandbox has no Consul servers for %s to join (start it with -consul 3)", name)
	}
	if version == "" {
		version = c.st.ConsulVersion
	}
	t0 := time.Now()
	bin, err := c.binaries().Path(ctx, Consul, version)
	if err != nil {
		return err
	}
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	// bootstrap_expect does not make a server that joins a cluster with
	// a leader bootstrap a second one: it finds the others' Raft peers.
	a := &Agent{Kind: ConsulServer, Name: name, Version: version, Binary: bin,
		Ports: Ports{HTTP: ports[0], RPC: ports[1], Serf: ports[2], SerfWAN: ports[3]}, BootstrapExpect: servers[0].BootstrapExpect}
	a.Dir = c.agentDir(a)
	c.st.Agents = append(c.st.Agents, a)
	if err := c.spawn(a); err != nil {
		return err
	}
	if err := c.waitBound(ctx, a); err != nil {
		return c.withTails(err)
	}
	release()
	if err := c.waitConsulServerUp(ctx, a); err != nil {
		return c.withTails(err)
	}
	c.phase("add "+name, t0)
	return nil
}

// RemoveConsulServer takes a Consul server out of the cluster for good: a
// running server leaves gracefully (`consul leave`: it leaves serf and
// Raft, then exits); a stopped one is removed from Raft and force-left
// with prune. It returns once no running Consul server lists it as a Raft
// peer, and deletes its directory.
func (c *Cluster) RemoveConsulServer(ctx context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t0 := time.Now()
	unlock, err := c.edit(ctx)
	if err != nil {
		return err
	}
	a, err := c.find(ConsulServer, name)
	if err != nil {
		unlock()
		return err
	}
	c.removeAgent(a)
	err = c.save()
	unlock()
	if err != nil {
		return err
	}
	if c.running(a) {
		// Consul servers skip the leave on SIGINT and SIGTERM by
		// default; the leave endpoint is the graceful way out. The agent
		// exits by itself once it has left.
		if err := c.consulLeave(a); err != nil {
			fmt.Fprintf(c.progress(), "nrun sandbox: %s did not take the leave request (%v); removing it from Raft instead\n", name, err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for c.running(a) && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
		}
		if err := c.stopProcess(a, syscall.SIGTERM, 20*time.Second); err != nil {
			return err
		}
	}
	err = c.waitFor(ctx, "Consul server "+name+" to leave Raft", func() (bool, string) {
		srv := c.firstRunningLive(ConsulServer)
		if srv == nil {
			return false, "no Consul server is running"
		}
		rc, err := c.consulRaft(srv)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range rc {
			if s.Address == a.RPCAddr() {
				// A stopped server cannot leave by itself.
				c.consulDo(http.MethodDelete, srv, "/v1/operator/raft/peer?id="+url.QueryEscape(s.ID), nil, nil)
				c.consulDo(http.MethodPut, srv, "/v1/agent/force-leave/"+url.PathEscape(name)+"?prune=1", nil, nil)
				return false, name + " is still a Raft peer"
			}
		}
		return true, ""
	})
	if err != nil {
		return c.withTails(err)
	}
	os.RemoveAll(a.Dir)
	c.phase("remove "+name, t0)
	return nil
}

// consulLeave asks Consul agent a to leave gracefully. The request returns
// once the agent has left Raft and serf and drained its connections
// (leave_drain_time, 5s), longer than the API client's usual timeout.
func (c *Cluster) consulLeave(a *Agent) error {
	hc, err := c.httpc()
	if err != nil {
		return err
	}
	long := *hc
	long.Timeout = time.Minute
	req, err := http.NewRequest(http.MethodPut, c.scheme()+"://"+a.HTTPAddr()+"/v1/agent/leave", nil)
	if err != nil {
		return err
	}
	if t := c.consulToken(); t != "" {
		req.Header.Set("X-Consul-Token", t)
	}
	resp, err := long.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT /v1/agent/leave: %s", resp.Status)
	}
	return nil
}

// ConsulServerVersions maps each running Consul server's name to the
// version the others see it run (its member build tag), as a running
// Consul server answers.
func (c *Cluster) ConsulServerVersions() (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	srv := c.firstRunningLive(ConsulServer)
	if srv == nil {
		return nil, fmt.Errorf("no Consul server is running")
	}
	var ms []consulMember
	if err := c.consulGet(srv, "/v1/agent/members", &ms); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, m := range ms {
		if m.Tags["role"] == "consul" && m.Status == 1 {
			out[m.Name] = consulBuild(m.Tags)
		}
	}
	return out, nil
}

// ConsulLeader returns the name of the Consul leader, as every running
// Consul server reports it; it fails when they disagree or none knows.
func (c *Cluster) ConsulLeader() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	return c.consulLeader()
}

func (c *Cluster) consulLeader() (string, error) {
	var seen []string
	name := ""
	for _, a := range c.agents(ConsulServer) {
		if !c.running(a) {
			continue
		}
		var addr string
		if err := c.consulGet(a, "/v1/status/leader", &addr); err != nil {
			return "", fmt.Errorf("%s: %v", a.Name, err)
		}
		if addr == "" {
			return "", fmt.Errorf("%s knows no Consul leader", a.Name)
		}
		n := addr
		for _, s := range c.agents(ConsulServer) {
			if s.RPCAddr() == addr {
				n = s.Name
			}
		}
		if name != "" && n != name {
			sort.Strings(seen)
			return "", fmt.Errorf("Consul servers disagree on the leader: %s", strings.Join(append(seen, a.Name+"->"+n), ", "))
		}
		name = n
		seen = append(seen, a.Name+"->"+n)
	}
	if name == "" {
		return "", fmt.Errorf("no Consul server is running")
	}
	return name, nil
}

// AddConsulAgent starts a Consul client agent that belongs to no Nomad
// agent: the one on an operator's machine, through which nrun can read
// Consul while every Consul server of the sandbox is replaced (a client
// agent forwards to whichever server is up). It returns once the Consul
// catalog has its node; ConsulAgents lists its address.
func (c *Cluster) AddConsulAgent(ctx context.Context, name string) error {
	done, release, err := c.lockEdit(ctx)
	if err != nil {
		return err
	}
	defer done()
	if err := c.checkNewName(name); err != nil {
		return err
	}
	t0 := time.Now()
	a, err := c.addConsulAgent(ctx, name)
	if err != nil {
		return c.withTails(err)
	}
	if err := c.waitBound(ctx, a); err != nil {
		return c.withTails(err)
	}
	release()
	if err := c.waitConsulAgents(ctx, []string{name}); err != nil {
		return c.withTails(err)
	}
	c.phase("add "+name, t0)
	return nil
}
