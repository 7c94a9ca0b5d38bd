package sandbox

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/hashicorp/nomad/api"
)

// StopServer stops a Nomad server with SIGTERM, which does not leave the
// cluster (leave_on_terminate is false): the server stays a Raft peer and
// its data_dir is kept, as when an operator stops the service to swap the
// binary. It waits for the process to exit (SIGKILL after 30s).
func (c *Cluster) StopServer(ctx context.Context, name string) error {
	return c.stopAgent(ctx, nomadServers, name)
}

// KillServer sends SIGKILL to a Nomad server: a crash, not a shutdown.
func (c *Cluster) KillServer(ctx context.Context, name string) error {
	return c.killAgent(ctx, nomadServers, name)
}

// StartServer starts a stopped Nomad server on its old data_dir and ports.
// A non-empty version swaps the binary first: the restart step of a rolling
// upgrade. It returns once the server is a live member reporting that
// version, knows the leader, and is a Raft voter.
func (c *Cluster) StartServer(ctx context.Context, name, version string) error {
	return c.startAgent(ctx, nomadServers, name, version)
}

// waitServerUp waits until a server answers on its own API with a known
// leader, is an alive serf member with its expected version in the view of
// every running server (gossip reaches them at different times, and a
// caller may ask any of them), and is a Raft voter.
func (c *Cluster) waitServerUp(ctx context.Context, a *Agent) error {
	member := a.Name + "." + c.st.Region
	return c.waitFor(ctx, fmt.Sprintf("server %s to rejoin on %s", a.Name, a.Version), func() (bool, string) {
		cl, err := c.nomadAPI(a)
		if err != nil {
			return false, err.Error()
		}
		leader, err := cl.Status().Leader()
		if err != nil || leader == "" {
			return false, fmt.Sprintf("%s knows no leader (%v)", a.Name, err)
		}
		if ok, seen := c.seenByAll(NomadServer, member, a.Version, func(viewer *Agent) ([]memberSeen, error) {
			vc, err := c.nomadAPI(viewer)
			if err != nil {
				return nil, err
			}
			ms, err := vc.Agent().Members()
			if err != nil {
				return nil, err
			}
			var out []memberSeen
			for _, m := range ms.Members {
				out = append(out, memberSeen{name: m.Name, status: m.Status, alive: m.Status == "alive", version: m.Tags["build"]})
			}
			return out, nil
		}); !ok {
			return false, seen
		}
		rc, err := cl.Operator().RaftGetConfiguration(nil)
		if err != nil {
			return false, err.Error()
		}
		for _, s := range rc.Servers {
			if s.Address == a.RPCAddr() {
				return s.Voter, fmt.Sprintf("%s voter=%v", a.Name, s.Voter)
			}
		}
		return false, a.Name + " is not a Raft peer yet"
	})
}

// AddServer starts a new Nomad server that joins the running cluster, and
// waits until autopilot has made it a voter. With s.ConsulAgent its own
// Consul agent starts first.
func (c *Cluster) AddServer(ctx context.Context, s ServerSpec) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	unlock, err := c.edit(ctx)
	if err != nil {
		return err
	}
	release := once(unlock)
	defer release()
	if err := c.checkNewName(s.Name); err != nil {
		return err
	}
	if s.Version == "" {
		s.Version = DefaultNomadVersion
	}
	t0 := time.Now()
	bin, err := c.binaries().Path(ctx, Nomad, s.Version)
	if err != nil {
		return err
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	expect := 1
	if ss := c.agents(NomadServer); len(ss) > 0 {
		expect = ss[0].BootstrapExpect
	}
	var started []*Agent
	if s.ConsulAgent {
		ca, err := c.addConsulAgent(ctx, s.Name)
		if err != nil {
			return c.withTails(err)
		}
		started = append(started, ca)
	}
	a := &Agent{Kind: NomadServer, Name: s.Name, Version: s.Version, Binary: bin, Datacenter: c.st.Datacenter,
		Ports: Ports{HTTP: ports[0], RPC: ports[1], Serf: ports[2]}, BootstrapExpect: expect}
	a.Dir = c.agentDir(a)
	c.st.Agents = append(c.st.Agents, a)
	if err := c.spawn(a); err != nil {
		return err
	}
	// Once the new agents hold their ports, other commands may change the
	// sandbox while this one waits for them to be ready.
	if err := c.waitBound(ctx, append(started, a)...); err != nil {
		return c.withTails(err)
	}
	release()
	if s.ConsulAgent {
		if err := c.waitConsulAgents(ctx, []string{s.Name}); err != nil {
			return c.withTails(err)
		}
	}
	if err := c.waitServerUp(ctx, a); err != nil {
		return c.withTails(err)
	}
	c.phase("add "+s.Name, t0)
	return nil
}

// once returns f wrapped so that only its first call runs it.
func once(f func()) func() {
	done := false
	return func() {
		if !done {
			done = true
			f()
		}
	}
}

// waitBound waits until each agent listens on its HTTP port. Ports are
// picked free by binding them and then released for the agent, so until
// the agent has bound them another command could pick them again.
func (c *Cluster) waitBound(ctx context.Context, agents ...*Agent) error {
	return c.waitFor(ctx, "the new agents to listen on their ports", func() (bool, string) {
		for _, a := range agents {
			if portFree(a.Ports.HTTP) {
				return false, fmt.Sprintf("%s %s does not listen on %s yet", a.Kind, a.Name, a.HTTPAddr())
			}
		}
		return true, ""
	})
}

// detach takes the agent name of kind k (and its own Consul agent, ca)
// out of the sandbox's state under the state lock, which it releases
// before the caller waits for the agent to leave: terraform removes many
// members at once.
func (c *Cluster) detach(ctx context.Context, k Kind, name string) (a, ca *Agent, err error) {
	unlock, err := c.edit(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer unlock()
	if a, err = c.find(k, name); err != nil {
		return nil, nil, err
	}
	ca, err = c.forget(a)
	return a, ca, err
}

// RemoveServer takes a Nomad server out of the cluster for good: a running
// server leaves gracefully (SIGINT with leave_on_interrupt); a stopped one
// is removed from Raft and force-left from serf. Its directory is deleted,
// and its own Consul agent, if it has one, leaves Consul and is deleted
// too: the host is gone.
func (c *Cluster) RemoveServer(ctx context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t0 := time.Now()
	a, ca, err := c.detach(ctx, NomadServer, name)
	if err != nil {
		return err
	}
	if err := c.stopProcess(a, syscall.SIGINT, 60*time.Second); err != nil {
		return err
	}
	err = c.waitFor(ctx, "server "+name+" to leave Raft", func() (bool, string) {
		rc, err := c.raftConfig()
		if err != nil {
			return false, err.Error()
		}
		for _, s := range rc.Servers {
			if s.Address == a.RPCAddr() {
				// A stopped server cannot leave by itself.
				if cl, err := c.anyServerAPI(); err == nil {
					cl.Operator().RaftRemovePeerByID(s.ID, nil)
					cl.Agent().ForceLeaveWithOptions(a.Name+"."+c.st.Region, api.ForceLeaveOpts{Prune: true})
				}
				return false, name + " is still a Raft peer"
			}
		}
		return true, ""
	})
	if err != nil {
		return c.withTails(err)
	}
	os.RemoveAll(a.Dir)
	if err := c.removeConsulAgent(ca); err != nil {
		return err
	}
	c.phase("remove "+name, t0)
	return nil
}

// forget drops a Nomad agent and its own Consul agent from the state and
// saves it, so the caller can stop them without holding the edit lock:
// a leave takes seconds, and terraform removes many members at once. Their
// ports stay bound until they exit, so no new agent can take them. The
// caller holds c.mu and the edit lock.
func (c *Cluster) forget(a *Agent) (*Agent, error) {
	ca := c.consulAgentOf(a.Name)
	c.removeAgent(a)
	if ca != nil {
		c.removeAgent(ca)
	}
	return ca, c.save()
}

func (c *Cluster) anyServerAPI() (*api.Client, error) {
	a := c.firstRunningLive(NomadServer)
	if a == nil {
		return nil, fmt.Errorf("no running Nomad server")
	}
	return c.nomadAPI(a)
}

func (c *Cluster) removeAgent(a *Agent) {
	for i, x := range c.st.Agents {
		if x == a {
			c.st.Agents = append(c.st.Agents[:i:i], c.st.Agents[i+1:]...)
			return
		}
	}
}

func (c *Cluster) checkNewName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("agent name %q must be lower-case letters, digits and dashes", name)
	}
	for _, a := range c.st.Agents {
		// A Consul client agent has its Nomad agent's name.
		if a.Name == name && a.Kind != ConsulClient {
			return fmt.Errorf("the sandbox already has a %s named %q", a.Kind, name)
		}
	}
	return nil
}

// AddClient starts a new Nomad client and waits until it is ready.
func (c *Cluster) AddClient(ctx context.Context, s ClientSpec) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	unlock, err := c.edit(ctx)
	if err != nil {
		return err
	}
	release := once(unlock)
	defer release()
	if err := c.checkNewName(s.Name); err != nil {
		return err
	}
	if s.Version == "" {
		s.Version = DefaultNomadVersion
	}
	if s.NodePool == "" {
		s.NodePool = "default"
	}
	if s.Datacenter == "" {
		s.Datacenter = c.st.Datacenter
	}
	t0 := time.Now()
	bin, err := c.binaries().Path(ctx, Nomad, s.Version)
	if err != nil {
		return err
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	var started []*Agent
	if s.ConsulAgent {
		ca, err := c.addConsulAgent(ctx, s.Name)
		if err != nil {
			return c.withTails(err)
		}
		started = append(started, ca)
	}
	a := &Agent{Kind: NomadClient, Name: s.Name, Version: s.Version, Binary: bin, Datacenter: s.Datacenter,
		NodePool: s.NodePool, Meta: s.Meta, Ports: Ports{HTTP: ports[0], RPC: ports[1], Serf: ports[2]}}
	a.Dir = c.agentDir(a)
	c.st.Agents = append(c.st.Agents, a)
	if err := c.spawn(a); err != nil {
		return err
	}
	if err := c.waitBound(ctx, append(started, a)...); err != nil {
		return c.withTails(err)
	}
	release()
	if s.ConsulAgent {
		if err := c.waitConsulAgents(ctx, []string{s.Name}); err != nil {
			return c.withTails(err)
		}
	}
	if err := c.waitClients(ctx, []string{s.Name}); err != nil {
		return c.withTails(err)
	}
	c.phase("add "+s.Name, t0)
	return nil
}

// RemoveClient stops a Nomad client and every task it ran, purges its node
// from the cluster and deletes its directory, and its own Consul agent as
// RemoveServer does.
func (c *Cluster) RemoveClient(ctx context.Context, name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t0 := time.Now()
	a, ca, err := c.detach(ctx, NomadClient, name)
	if err != nil {
		return err
	}
	if err := c.stopProcess(a, syscall.SIGTERM, 20*time.Second); err != nil {
		return err
	}
	for i := 0; i < 50; i++ {
		left := processesUnder(a.Dir)
		if len(left) == 0 {
			break
		}
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := unmountUnder(a.Dir); err != nil {
		return err
	}
	if cl, err := c.anyServerAPI(); err == nil {
		nodes, _, err := cl.Nodes().List(nil)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if n.Name == name {
				if _, _, err := cl.Nodes().Purge(n.ID, nil); err != nil {
					return fmt.Errorf("purge node %s: %w", name, err)
				}
			}
		}
	}
	os.RemoveAll(a.Dir)
	if err := c.removeConsulAgent(ca); err != nil {
		return err
	}
	c.phase("remove "+name, t0)
	return nil
}
