package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// A Nomad agent of the sandbox may have its own Consul client agent
// (ServerSpec.ConsulAgent, ClientSpec.ConsulAgent, `-consul-agent`), as
// every host of a real fleet does. All agents share 127.0.0.1, so Consul
// node maintenance, which only a node's own agent sets, needs that agent's
// HTTP address: ConsulAgents lists them.

// consulAgentOf is the Consul client agent of the Nomad agent name, or nil.
func (c *Cluster) consulAgentOf(name string) *Agent {
	for _, a := range c.st.Agents {
		if a.Kind == ConsulClient && a.Name == name {
			return a
		}
	}
	return nil
}

// addConsulAgent records and starts a Consul client agent for the Nomad
// agent name; waitConsulAgents tells when it has joined. The caller holds
// c.mu and the edit lock.
func (c *Cluster) addConsulAgent(ctx context.Context, name string) (*Agent, error) {
	if len(c.agents(ConsulServer)) == 0 {
		return nil, fmt.Errorf("%s cannot have its own Consul agent: the sandbox has no Consul servers to join (start it with -consul 3)", name)
	}
	if old := c.consulAgentOf(name); old != nil {
		return nil, fmt.Errorf("the sandbox already has a Consul agent named %q without its Nomad agent; remove %s first", name, old.Dir)
	}
	bin, err := c.binaries().Path(ctx, Consul, c.st.ConsulVersion)
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	a := &Agent{Kind: ConsulClient, Name: name, Version: c.st.ConsulVersion, Binary: bin, Ports: Ports{HTTP: ports[0], Serf: ports[1]}}
	a.Dir = c.agentDir(a)
	c.st.Agents = append(c.st.Agents, a)
	if err := c.spawn(a); err != nil {
		return nil, err
	}
	return a, nil
}

// removeConsulAgent stops a Consul agent that forget took out of the
// state, with a graceful leave (SIGINT) so Consul deregisters its node,
// and deletes its directory. A nil agent is nothing to do.
func (c *Cluster) removeConsulAgent(a *Agent) error {
	if a == nil {
		return nil
	}
	name := a.Name
	if err := c.stopProcess(a, syscall.SIGINT, 30*time.Second); err != nil {
		return err
	}
	os.RemoveAll(a.Dir)
	// The leave normally deregisters the node, but an agent's first sync
	// can reach the servers after its leave and register the node again,
	// to stay until the next reconcile; deregister it for certain.
	if srv := c.firstRunningLive(ConsulServer); srv != nil {
		if err := c.consulDo(http.MethodPut, srv, "/v1/catalog/deregister", map[string]string{"Node": name}, nil); err != nil {
			return fmt.Errorf("deregister Consul node %s: %w", name, err)
		}
	}
	return nil
}

// waitConsulAgents waits until the Consul catalog, as a Consul server
// answers it, has a node for each named Consul agent.
func (c *Cluster) waitConsulAgents(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	return c.waitFor(ctx, "Consul agents to join ("+strings.Join(names, ", ")+")", func() (bool, string) {
		srv := c.firstRunningLive(ConsulServer)
		if srv == nil {
			return false, "no Consul server is running"
		}
		for _, n := range names {
			var node struct{ Node *struct{ Node string } }
			if err := c.consulGet(srv, "/v1/catalog/node/"+url.PathEscape(n), &node); err != nil {
				return false, fmt.Sprintf("%s: %v", srv.Name, err)
			}
			if node.Node == nil {
				return false, fmt.Sprintf("the Consul catalog has no node %s yet", n)
			}
		}
		return true, ""
	})
}

// ConsulAgents maps the name of every Nomad agent that has its own Consul
// agent to that agent's HTTP address ("127.0.0.1:PORT"): the address a
// consul_maintenance action needs in the sandbox.
func (c *Cluster) ConsulAgents() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refresh()
	out := map[string]string{}
	for _, a := range c.agents(ConsulClient) {
		out[a.Name] = a.HTTPAddr()
	}
	return out
}
